// A small Markdown renderer for model output, which is untrusted: every piece of text is HTML-escaped
// before any markup is added, links are kept only for http(s), and no raw HTML passes through.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const KEYWORDS = new Set(('abstract as async await break case catch class const continue def default del do elif else enum export extends ' +
  'false final finally fn for from func function go if impl import in interface let match mod new nil None null package pass private ' +
  'protected pub public raise return self static struct super switch this throw true True False try type typeof use var void while with yield').split(' '));
const TOKEN = /(\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`|\b\d+(?:\.\d+)?\b|\b[A-Za-z_][A-Za-z0-9_]*\b)/g;

/** Minimal highlighting: keywords, strings, comments and numbers get a class; everything is escaped. */
export function highlight(code, lang) {
  const hashComments = /^(py|python|sh|bash|shell|zsh|yaml|yml|toml|rb|ruby)$/i.test(lang ?? '');
  let out = '';
  let last = 0;
  for (const match of code.matchAll(TOKEN)) {
    const token = match[0];
    out += escapeHtml(code.slice(last, match.index));
    last = match.index + token.length;
    let kind;
    if (token.startsWith('//') || token.startsWith('/*')) kind = 'com';
    else if (token.startsWith('#')) kind = hashComments ? 'com' : undefined;
    else if (/^["'`]/.test(token)) kind = 'str';
    else if (/^\d/.test(token)) kind = 'num';
    else if (KEYWORDS.has(token)) kind = 'kw';
    if (kind === undefined && token.startsWith('#')) {
      out += escapeHtml(token.slice(0, 1));
      last = match.index + 1;
      continue;
    }
    out += kind ? `<span class="tok-${kind}">${escapeHtml(token)}</span>` : escapeHtml(token);
  }
  return out + escapeHtml(code.slice(last));
}

/** Inline markup over already-escaped text. */
function inline(escaped) {
  const codes = [];
  let text = escaped.replace(/`([^`]+)`/g, (_, code) => `\u0000${codes.push(code) - 1}\u0000`);
  text = text
    .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*\w])\*([^*\n]+)\*(?!\w)/g, '$1<em>$2</em>')
    .replace(/(^|[^_\w])_([^_\n]+)_(?!\w)/g, '$1<em>$2</em>');
  return text.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${codes[Number(i)]}</code>`);
}

/** Markdown to HTML: fenced code, headings, lists, quotes, paragraphs, inline code, bold, italics, links. */
export function renderMarkdown(source) {
  const lines = String(source).replace(/\r\n?/g, '\n').split('\n');
  const out = [];
  let paragraph = [];
  let list;
  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map((l) => inline(escapeHtml(l))).join('<br>')}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(escapeHtml(i))}</li>`).join('')}</${list.tag}>`);
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
    if (fence) {
      flushParagraph();
      flushList();
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      const lang = fence[2];
      out.push(`<pre><code${lang ? ` class="lang-${escapeHtml(lang)}"` : ''}>${highlight(body.join('\n'), lang)}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      flushList();
      const level = Math.min(heading[1].length + 2, 6);
      out.push(`<h${level}>${inline(escapeHtml(heading[2]))}</h${level}>`);
    } else if (item) {
      flushParagraph();
      const tag = item[1] ? 'ul' : 'ol';
      if (list && list.tag !== tag) flushList();
      list ??= { tag, items: [] };
      list.items.push(item[3]);
    } else if (/^>\s?/.test(line)) {
      flushParagraph();
      flushList();
      out.push(`<blockquote>${inline(escapeHtml(line.replace(/^>\s?/, '')))}</blockquote>`);
    } else if (line.trim() === '') {
      flushParagraph();
      flushList();
    } else {
      flushList();
      paragraph.push(line);
    }
  }
  flushParagraph();
  flushList();
  return out.join('\n');
}

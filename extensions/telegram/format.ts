/**
 * Claude's Markdown to the HTML subset Telegram accepts (parse_mode "HTML").
 *
 * Blocks: fenced code (with its language), headers (bold lines), blockquotes, bullet and numbered
 * lists (text lines starting "•" or "1."), rules, paragraphs. Inline: code spans, **bold**, *italic*,
 * _italic_, ~~strike~~, [links](url) and <autolinks>. Everything else is text, escaped. A marker
 * without its partner stays literal, code is never formatted, and the output never nests what
 * Telegram forbids (no blockquote in a blockquote, no pre in a blockquote, nothing inside code).
 */

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Escapes text for Telegram HTML: `&`, `<` and `>`. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

/** Escapes an attribute value written between double quotes. */
function escapeAttribute(text: string): string {
  return text.replace(/[&<>"]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

export function markdownToTelegramHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  return renderBlocks(lines, false).replace(/^\n+|\n+$/g, '');
}

// ---------------------------------------------------------------------------------------------
// Blocks

const FENCE_OPEN = /^(\s*)(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^\s*(`{3,}|~{3,})\s*$/;
const BLANK = /^\s*$/;
const QUOTE = /^ {0,3}>/;
const HEADER = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const BULLET = /^(\s*)[-*+][ \t]+(.*)$/;
const NUMBERED = /^(\s*)(\d{1,9})[.)][ \t]+(.*)$/;
const TASK = /^\[([ xX])\][ \t]+(.*)$/;

function renderBlocks(lines: readonly string[], inQuote: boolean): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  const emit = (block: string): void => {
    if (block === '' && (out.length === 0 || out[out.length - 1] === '')) return;
    out.push(block);
  };
  const flushParagraph = (): void => {
    if (paragraph.length > 0) emit(renderInline(paragraph.join('\n')));
    paragraph = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';

    const fence = FENCE_OPEN.exec(line);
    if (fence && !(fence[2]?.startsWith('`') && fence[3]?.includes('`'))) {
      flushParagraph();
      const indent = fence[1]?.length ?? 0;
      const marker = fence[2] ?? '```';
      const language = (fence[3] ?? '').trim().split(/\s+/)[0] ?? '';
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = FENCE_CLOSE.exec(lines[j] ?? '');
        if (close?.[1] && close[1][0] === marker[0] && close[1].length >= marker.length) break;
        body.push(stripIndent(lines[j] ?? '', indent));
      }
      emit(inQuote ? codeInQuote(body.join('\n')) : codeBlock(body.join('\n'), language));
      i = j; // the closing fence, or past the end when the fence was never closed
      continue;
    }

    if (BLANK.test(line)) {
      flushParagraph();
      emit('');
      continue;
    }

    if (QUOTE.test(line)) {
      flushParagraph();
      const inner: string[] = [];
      let j = i;
      while (j < lines.length && QUOTE.test(lines[j] ?? '')) {
        inner.push((lines[j] ?? '').replace(/^ {0,3}> ?/, ''));
        j++;
      }
      const rendered = renderBlocks(inner, true).replace(/^\n+|\n+$/g, '');
      // Telegram cannot nest blockquotes: a quote inside a quote is flattened into it.
      if (rendered !== '') emit(inQuote ? rendered : `<blockquote>${rendered}</blockquote>`);
      i = j - 1;
      continue;
    }

    const header = HEADER.exec(line);
    if (header) {
      flushParagraph();
      const text = (header[2] ?? '').trim().replace(/^\*\*(.+)\*\*$/, '$1');
      if (text !== '') emit(`<b>${renderInline(text)}</b>`);
      continue;
    }

    if (RULE.test(line)) {
      flushParagraph();
      emit('———');
      continue;
    }

    const bullet = BULLET.exec(line);
    if (bullet) {
      flushParagraph();
      let item = bullet[2] ?? '';
      let box = '';
      const task = TASK.exec(item);
      if (task) {
        box = task[1] === ' ' ? '☐ ' : '☑ ';
        item = task[2] ?? '';
      }
      emit(`${bullet[1] ?? ''}• ${box}${renderInline(item)}`);
      continue;
    }

    const numbered = NUMBERED.exec(line);
    if (numbered) {
      flushParagraph();
      emit(`${numbered[1] ?? ''}${numbered[2] ?? ''}. ${renderInline(numbered[3] ?? '')}`);
      continue;
    }

    paragraph.push(line);
  }
  flushParagraph();
  return out.join('\n');
}

function stripIndent(line: string, indent: number): string {
  let n = 0;
  while (n < indent && n < line.length && (line[n] === ' ' || line[n] === '\t')) n++;
  return line.slice(n);
}

function codeBlock(code: string, language: string): string {
  const lang = /^[\w#+.-]{1,32}$/.test(language) ? language : '';
  return lang === ''
    ? `<pre>${escapeHtml(code)}</pre>`
    : `<pre><code class="language-${escapeAttribute(lang)}">${escapeHtml(code)}</code></pre>`;
}

/** A code block inside a quote: Telegram cannot put a pre in a blockquote, a code entity it can. */
function codeInQuote(code: string): string {
  return code === '' ? '' : `<code>${escapeHtml(code)}</code>`;
}

// ---------------------------------------------------------------------------------------------
// Inline

const ESCAPABLE = /[!-/:-@[-`{-~]/;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const WHITESPACE = /\s/;
const SAFE_URL = /^(?:https?|ftp|mailto|tg):/i;
const AUTOLINK = /^<((?:https?|ftp):\/\/[^\s<>]+|mailto:[^\s<>]+)>/i;

interface CodeSpan {
  readonly end: number;
  readonly code: string;
}

interface Link {
  readonly end: number;
  readonly text: string;
  readonly url: string;
}

/** Renders one paragraph (or list item, or header) of inline Markdown. */
function renderInline(src: string, inLink = false): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';

    if (c === '\\' && i + 1 < src.length && ESCAPABLE.test(src[i + 1] ?? '')) {
      out += escapeHtml(src[i + 1] ?? '');
      i += 2;
      continue;
    }

    if (c === '`') {
      const span = codeSpanAt(src, i);
      if (span) {
        out += `<code>${escapeHtml(span.code)}</code>`;
        i = span.end;
      } else {
        const run = runLength(src, i, '`');
        out += src.slice(i, i + run);
        i += run;
      }
      continue;
    }

    if (!inLink && (c === '[' || (c === '!' && src[i + 1] === '['))) {
      const link = linkAt(src, c === '!' ? i + 1 : i);
      if (link) {
        const text = link.text.trim() === '' ? escapeHtml(link.url) : renderInline(link.text, true);
        out += SAFE_URL.test(link.url)
          ? `<a href="${escapeAttribute(link.url)}">${text}</a>`
          : `${text} (${escapeHtml(link.url)})`;
        i = link.end;
        continue;
      }
    }

    if (!inLink && c === '<') {
      const auto = AUTOLINK.exec(src.slice(i));
      if (auto?.[1]) {
        out += `<a href="${escapeAttribute(auto[1])}">${escapeHtml(auto[1])}</a>`;
        i += auto[0].length;
        continue;
      }
    }

    if (c === '*' || c === '_' || c === '~') {
      const emphasis = emphasisAt(src, i, inLink);
      out += emphasis.html;
      i = emphasis.end;
      continue;
    }

    out += escapeHtml(c);
    i++;
  }
  return out;
}

function runLength(src: string, at: number, char: string): number {
  let n = 0;
  while (src[at + n] === char) n++;
  return n;
}

/** A code span opening at `at`: a backtick run closed by a run of the same length. */
function codeSpanAt(src: string, at: number): CodeSpan | undefined {
  const open = runLength(src, at, '`');
  let j = at + open;
  while (j < src.length) {
    const next = src.indexOf('`', j);
    if (next < 0) return undefined;
    const close = runLength(src, next, '`');
    if (close === open) {
      let code = src.slice(at + open, next).replace(/\n/g, ' ');
      if (code.length > 1 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
      return { end: next + close, code };
    }
    j = next + close;
  }
  return undefined;
}

/** Where a scan goes on when `j` is at a backslash escape or a code span (never markup); undefined elsewhere. */
function skipInert(src: string, j: number): number | undefined {
  if (src[j] === '\\') return j + 2;
  if (src[j] !== '`') return undefined;
  const span = codeSpanAt(src, j);
  return span ? span.end : j + runLength(src, j, '`');
}

/** `[text](url "title")` with `[` at `at`. */
function linkAt(src: string, at: number): Link | undefined {
  let depth = 0;
  let j = at;
  let textEnd = -1;
  while (j < src.length) {
    const skipped = skipInert(src, j);
    if (skipped !== undefined) {
      j = skipped;
      continue;
    }
    const c = src[j];
    if (c === '[') depth++;
    if (c === ']' && --depth === 0) {
      textEnd = j;
      break;
    }
    j++;
  }
  if (textEnd < 0 || src[textEnd + 1] !== '(') return undefined;

  let k = textEnd + 2;
  while (src[k] === ' ') k++;
  let url = '';
  if (src[k] === '<') {
    const close = src.indexOf('>', k);
    if (close < 0 || src.slice(k, close).includes('\n')) return undefined;
    url = src.slice(k + 1, close);
    k = close + 1;
  } else {
    let parens = 0;
    const start = k;
    while (k < src.length) {
      const c = src[k] ?? '';
      if (WHITESPACE.test(c)) break;
      if (c === '\\' && k + 1 < src.length) {
        k += 2;
        continue;
      }
      if (c === '(') parens++;
      if (c === ')') {
        if (parens === 0) break;
        parens--;
      }
      k++;
    }
    url = src.slice(start, k).replace(/\\([!-/:-@[-`{-~])/g, '$1');
  }
  while (src[k] === ' ') k++;
  const quote = src[k];
  if (quote === '"' || quote === "'") {
    const close = src.indexOf(quote, k + 1);
    if (close < 0) return undefined;
    k = close + 1;
    while (src[k] === ' ') k++;
  }
  if (src[k] !== ')' || url === '') return undefined;
  return { end: k + 1, text: src.slice(at + 1, textEnd), url };
}

/**
 * Emphasis opening at `at` (`*`, `_` or `~`). Returns the rendered HTML and where to continue; a
 * run that cannot open, or finds no partner, is returned as literal text.
 */
function emphasisAt(src: string, at: number, inLink: boolean): { html: string; end: number } {
  const marker = src[at] ?? '';
  const run = runLength(src, at, marker);
  const literal = { html: escapeHtml(src.slice(at, at + run)), end: at + run };
  const usable = marker === '~' ? run === 2 : run <= 3;
  if (!usable || !canOpen(src, at, run, marker)) return literal;

  const close = findCloser(src, at + run, marker, run);
  if (close < 0) return literal;
  const inner = renderInline(src.slice(at + run, close), inLink);
  const end = close + run;
  if (marker === '~') return { html: `<s>${inner}</s>`, end };
  if (run === 1) return { html: `<i>${inner}</i>`, end };
  if (run === 2) return { html: `<b>${inner}</b>`, end };
  return { html: `<b><i>${inner}</i></b>`, end };
}

function canOpen(src: string, at: number, run: number, marker: string): boolean {
  const after = src[at + run];
  if (after === undefined || WHITESPACE.test(after)) return false;
  if (marker === '_' && at > 0 && WORD_CHAR.test(src[at - 1] ?? '')) return false;
  return true;
}

function canClose(src: string, at: number, run: number, marker: string): boolean {
  const before = src[at - 1];
  if (before === undefined || WHITESPACE.test(before)) return false;
  if (marker === '_' && WORD_CHAR.test(src[at + run] ?? '')) return false;
  return true;
}

/** The start of the run of exactly `run` markers that closes an emphasis whose content starts at `from`. */
function findCloser(src: string, from: number, marker: string, run: number): number {
  let j = from;
  while (j < src.length) {
    const skipped = skipInert(src, j);
    if (skipped !== undefined) {
      j = skipped;
      continue;
    }
    const c = src[j];
    if (c === '[' || (c === '!' && src[j + 1] === '[')) {
      const link = linkAt(src, c === '!' ? j + 1 : j);
      if (link) {
        j = link.end;
        continue;
      }
    }
    if (c === marker) {
      const length = runLength(src, j, marker);
      if (length === run && j > from && canClose(src, j, length, marker)) return j;
      j += length;
      continue;
    }
    j++;
  }
  return -1;
}

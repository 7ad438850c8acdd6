import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, markdownToTelegramHtml } from '../../../../extensions/telegram/format.ts';
import { plainTextFallback, splitPlain, splitTelegramHtml } from '../../../../extensions/telegram/split.ts';
import { parseTelegramHtml } from '../../../support/fake-telegram.ts';

const md = markdownToTelegramHtml;

/** What Telegram would show for the HTML; fails the test when Telegram would reject it. */
function visible(html: string): string {
  const parsed = parseTelegramHtml(html);
  assert.ok(parsed.ok, `Telegram would reject ${JSON.stringify(html.slice(0, 200))}: ${parsed.ok ? '' : parsed.error}`);
  return parsed.text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ---------------------------------------------------------------------------------------------
// markdownToTelegramHtml

test('inline constructs become Telegram tags', () => {
  assert.equal(md('**bold** and __bold__'), '<b>bold</b> and <b>bold</b>');
  assert.equal(md('*italic* and _italic_'), '<i>italic</i> and <i>italic</i>');
  assert.equal(md('***both***'), '<b><i>both</i></b>');
  assert.equal(md('~~gone~~'), '<s>gone</s>');
  assert.equal(md('run `npm test` now'), 'run <code>npm test</code> now');
  assert.equal(md('**bold *and italic* inside**'), '<b>bold <i>and italic</i> inside</b>');
  assert.equal(md('see [the docs](https://example.com/a_b?x=1)'), 'see <a href="https://example.com/a_b?x=1">the docs</a>');
  assert.equal(md('[**bold link**](https://x.dev)'), '<a href="https://x.dev"><b>bold link</b></a>');
  assert.equal(md('<https://example.com>'), '<a href="https://example.com">https://example.com</a>');
});

test('fenced code keeps its language and is never formatted', () => {
  const source = ['```typescript', 'const a = **b** < c && d > e; // _not italic_', '  indented()', '```'].join('\n');
  assert.equal(
    md(source),
    '<pre><code class="language-typescript">const a = **b** &lt; c &amp;&amp; d &gt; e; // _not italic_\n  indented()</code></pre>',
  );
  assert.equal(md('```\nplain <b>\n```'), '<pre>plain &lt;b&gt;</pre>');
  assert.equal(md('~~~py\nx = 1\n~~~'), '<pre><code class="language-py">x = 1</code></pre>');
  assert.equal(md('`**not bold** & <tag>`'), '<code>**not bold** &amp; &lt;tag&gt;</code>');
  assert.equal(md('``a ` b``'), '<code>a ` b</code>');
});

test('a code fence that is never closed runs to the end', () => {
  assert.equal(md('text\n```js\nlet x = 1;\n**still code**'), 'text\n<pre><code class="language-js">let x = 1;\n**still code**</code></pre>');
});

test('a code block indented in a list keeps its lines', () => {
  assert.equal(md('1. Run:\n   ```sh\n   npm i\n     --save\n   ```'), '1. Run:\n<pre><code class="language-sh">npm i\n  --save</code></pre>');
});

test('lists, headers, rules and quotes become text lines', () => {
  assert.equal(md('- one\n* two\n+ three'), '• one\n• two\n• three');
  assert.equal(md('- top\n  - nested **b**'), '• top\n  • nested <b>b</b>');
  assert.equal(md('1. first\n2) second\n10. tenth'), '1. first\n2. second\n10. tenth');
  assert.equal(md('- [ ] todo\n- [x] done'), '• ☐ todo\n• ☑ done');
  assert.equal(md('# Title\n## Sub *it*\ntext'), '<b>Title</b>\n<b>Sub <i>it</i></b>\ntext');
  assert.equal(md('## **Already bold**'), '<b>Already bold</b>');
  assert.equal(md('above\n\n---\n\nbelow'), 'above\n\n———\n\nbelow');
  assert.equal(md('> quoted *text*\n> second line\n\nafter'), '<blockquote>quoted <i>text</i>\nsecond line</blockquote>\n\nafter');
  assert.equal(md('> outer\n> > inner'), '<blockquote>outer\ninner</blockquote>', 'blockquotes cannot nest in Telegram');
  assert.equal(md('> ```\n> code\n> ```'), '<blockquote><code>code</code></blockquote>', 'no pre inside a blockquote');
});

test('paragraphs keep their line breaks and blank lines collapse to one', () => {
  assert.equal(md('line one\nline two\n\n\n\nnext'), 'line one\nline two\n\nnext');
  assert.equal(md('**bold across\nlines**'), '<b>bold across\nlines</b>');
});

test('everything else is escaped', () => {
  assert.equal(escapeHtml('a < b && c > "d"'), 'a &lt; b &amp;&amp; c &gt; "d"');
  assert.equal(md('if a < b && c > d then <script>alert(1)</script>'), 'if a &lt; b &amp;&amp; c &gt; d then &lt;script&gt;alert(1)&lt;/script&gt;');
  assert.equal(md('&amp; stays visible'), '&amp;amp; stays visible');
  assert.equal(md('[q](https://x.dev/?a="1"&b=<2>)'), '<a href="https://x.dev/?a=&quot;1&quot;&amp;b=&lt;2&gt;">q</a>');
  assert.equal(md('\\*not italic\\* and \\`no code\\`'), '*not italic* and `no code`');
});

test('links Telegram would not open stay text with their target', () => {
  assert.equal(md('[click](javascript:alert(1))'), 'click (javascript:alert(1))');
  assert.equal(md('[rel](./docs/x.md)'), 'rel (./docs/x.md)');
});

test('unbalanced markers stay literal', () => {
  assert.equal(md('**never closed'), '**never closed');
  assert.equal(md('*half'), '*half');
  assert.equal(md('a `tick'), 'a `tick');
  assert.equal(md('~~open'), '~~open');
  assert.equal(md('~single~'), '~single~');
  assert.equal(md('[text] (not a link)'), '[text] (not a link)');
  assert.equal(md('2 * 3 * 4 = 24'), '2 * 3 * 4 = 24');
  assert.equal(md('snake_case_name and __init__.py'), 'snake_case_name and <b>init</b>.py');
  assert.equal(md('file_name_here'), 'file_name_here');
  assert.equal(md('** spaced **'), '** spaced **');
  assert.equal(md('**bold *and unclosed italic**'), '<b>bold *and unclosed italic</b>');
});

test('unicode and emoji survive untouched', () => {
  assert.equal(md('Привет, **мир** 👋🏽 — 👩‍💻 _日本語_ 🇺🇦'), 'Привет, <b>мир</b> 👋🏽 — 👩‍💻 <i>日本語</i> 🇺🇦');
  assert.equal(md('`😀 <>`'), '<code>😀 &lt;&gt;</code>');
  assert.equal(md('_ça_ marche'), '<i>ça</i> marche');
});

test('whatever Markdown comes in, Telegram accepts the HTML that comes out', () => {
  const samples = [
    '**a *b** c*',
    '*a **b* c**',
    '[a *b](https://x.y) c*',
    '`a` ``b`` ```c',
    '> # quoted header\n> - quoted item\n> ```\n> x < y\n> ```',
    '<div>html & stuff</div> &nbsp; &#x1F600;',
    '- **item** with `code` and [link](https://a.b/c?d=e&f=g "title")\n  1. nested ~~strike~~',
    '***\n___\n- - -',
    '```\nunclosed',
    '\\\\ backslash \\_ _x_',
    '![image](https://img.example/x.png)',
    '__a__b__ and *a*b*',
    '# \n##\n',
  ];
  for (const sample of samples) visible(md(sample));
});

// ---------------------------------------------------------------------------------------------
// splitTelegramHtml

function longAnswer(): string {
  const code = (lang: string, lines: number, seed: string): string =>
    ['```' + lang, ...Array.from({ length: lines }, (_, i) => `  const v${i} = "${seed}" < ${i} && items[${i}] > 0; // **not bold** 🚀`), '```'].join('\n');
  const paragraph = (i: number): string =>
    `Paragraph ${i} explains **the change** in *detail*, with \`inline < code\` and a [link](https://example.com/${i}?a=1&b=2). ` +
    'Ünïcödé and emoji 👩‍💻 keep their shape. '.repeat(3);
  return [
    '# Summary',
    paragraph(1),
    paragraph(2),
    code('ts', 50, 'alpha'),
    '- first point with **bold**\n- second point\n1. numbered',
    paragraph(3),
    code('python', 80, 'beta'),
    '> a quoted remark with _emphasis_',
    paragraph(4),
    code('', 12, 'gamma'),
    paragraph(5),
  ].join('\n\n');
}

test('a 10,000-character answer splits into valid parts within the limit, losing nothing', () => {
  const markdown = longAnswer();
  assert.ok(markdown.length >= 10_000, `the answer is ${markdown.length} characters`);
  const html = md(markdown);
  const parts = splitTelegramHtml(html);
  assert.ok(parts.length >= 3, `${parts.length} parts`);
  for (const part of parts) {
    assert.ok(part.length <= 4096, `raw length ${part.length}`);
    const text = visible(part);
    assert.ok(text.length <= 4096);
    assert.ok(text.trim() !== '', 'no empty part');
    assert.doesNotMatch(part, LONE_SURROGATE);
  }
  const whole = visible(html).replace(/\s+/g, '');
  const joined = parts.map((p) => visible(p)).join('').replace(/\s+/g, '');
  assert.equal(joined, whole);
});

test('a long code block is closed at the end of a part and reopened with its language', () => {
  const code = Array.from({ length: 300 }, (_, i) => `print("line ${i}") # <&>`).join('\n');
  const html = md('Intro.\n\n```python\n' + code + '\n```\n\nOutro.');
  const parts = splitTelegramHtml(html, 2000);
  assert.ok(parts.length >= 4);
  assert.ok(parts[0]?.startsWith('Intro.\n\n<pre><code class="language-python">print("line 0")'));
  const last = parts[parts.length - 1] ?? '';
  assert.ok(last.startsWith('<pre><code class="language-python">') && last.endsWith('</code></pre>\n\nOutro.'), last.slice(-40));
  const middle = parts.slice(1, -1);
  for (const part of middle) {
    assert.ok(part.startsWith('<pre><code class="language-python">'), part.slice(0, 60));
    assert.ok(part.endsWith('</code></pre>'), part.slice(-60));
    assert.ok(part.length <= 2000);
    visible(part);
  }
  for (const part of middle) assert.match(visible(part), /^print\("line \d+"\) # <&>$/m, 'cuts fall at line ends');
});

test('cuts prefer paragraph breaks, then line breaks, then spaces', () => {
  const a = 'a'.repeat(2500);
  const b = 'b'.repeat(2500);
  assert.deepEqual(splitTelegramHtml(`${a}\n\n${b}`), [a, b]);
  assert.deepEqual(splitTelegramHtml(`${a} ${a}\n${b}`), [a, a, b]);
  const line = (c: string): string => `${c.repeat(30)} `.repeat(40).trim();
  const parts = splitTelegramHtml(`${line('x')}\n${line('y')}\n${line('z')}`, 2000);
  assert.deepEqual(parts, [line('x'), line('y'), line('z')]);
  const words = splitTelegramHtml('word '.repeat(1000).trim(), 1000);
  for (const part of words) assert.match(part, /^word( word)*$/);
});

test('text without any break is cut between characters, never inside an entity or a surrogate pair', () => {
  const emoji = '😀'.repeat(3000);
  const parts = splitTelegramHtml(emoji);
  assert.equal(parts.join(''), emoji);
  for (const part of parts) {
    assert.ok(part.length <= 4096);
    assert.doesNotMatch(part, LONE_SURROGATE);
  }
  const escaped = escapeHtml('<&>'.repeat(2000));
  const pieces = splitTelegramHtml(escaped, 100);
  for (const piece of pieces) {
    assert.ok(piece.length <= 100);
    visible(piece);
  }
  assert.equal(pieces.join(''), escaped);
});

test('tags open at a cut are closed and reopened with their attributes', () => {
  const html = `<b>bold <a href="https://x.dev/?a=1&amp;b=2">${'link text '.repeat(30)}</a> end</b>`;
  const parts = splitTelegramHtml(html, 150);
  assert.ok(parts.length > 2);
  for (const part of parts) {
    assert.ok(part.length <= 150);
    assert.ok(part.startsWith('<b>'));
    assert.ok(part.endsWith('</b>'));
    visible(part);
  }
  assert.ok(parts.slice(1, -1).every((p) => p.startsWith('<b><a href="https://x.dev/?a=1&amp;b=2">')));
});

test('short messages come back whole; empty ones not at all', () => {
  assert.deepEqual(splitTelegramHtml('<b>hi</b>'), ['<b>hi</b>']);
  assert.deepEqual(splitTelegramHtml(''), []);
  assert.deepEqual(splitTelegramHtml('  \n\n  '), []);
});

// ---------------------------------------------------------------------------------------------
// splitPlain and plainTextFallback

test('splitPlain keeps parts within the limit at natural breaks', () => {
  const text = `${'first paragraph. '.repeat(100)}\n\n${'second paragraph. '.repeat(100)}`;
  const parts = splitPlain(text, 2000);
  assert.deepEqual(parts, ['first paragraph. '.repeat(100).trim(), 'second paragraph. '.repeat(100).trim()]);
  const emoji = '👍🏽'.repeat(1500);
  const pieces = splitPlain(emoji, 1000);
  assert.equal(pieces.join(''), emoji);
  for (const piece of pieces) {
    assert.ok(piece.length <= 1000);
    assert.doesNotMatch(piece, LONE_SURROGATE);
  }
  assert.deepEqual(splitPlain('a <b> & c'), ['a <b> & c'], 'plain text is not HTML');
});

test('plainTextFallback strips tags, decodes entities and keeps link targets', () => {
  const html = md('**Bold** & `<code>` [docs](https://x.dev/a?b=1&c=2) <https://y.dev>\n```js\nif (a < b) {}\n```');
  assert.equal(plainTextFallback(html), 'Bold & <code> docs (https://x.dev/a?b=1&c=2) https://y.dev\nif (a < b) {}');
  assert.equal(plainTextFallback('&lt;&gt;&amp;&quot;&#39;&#x1F600;'), '<>&"\'😀');
});

/**
 * Splitting rendered Telegram HTML (and plain text) into messages that Telegram accepts.
 *
 * Telegram limits a message to 4096 UTF-16 code units of visible text (after entity parsing). A part
 * here is kept within the limit both in visible text and in raw HTML, tags and entities included;
 * since every tag and entity is at least as long as what it shows, the raw bound is the one that
 * binds. Cuts fall at paragraph breaks, else line breaks, else spaces, else anywhere between two
 * characters, never inside a tag, an entity or a surrogate pair. Tags open at a cut are closed at the
 * end of the part and reopened, with the same attributes, at the start of the next.
 */

export const TELEGRAM_MESSAGE_LIMIT = 4096;

interface OpenTag {
  readonly name: string;
  /** The tag as written, attributes and all, to reopen it with. */
  readonly raw: string;
}

interface Token {
  readonly kind: 'text' | 'open' | 'close';
  readonly raw: string;
  /** For text: the character it shows (an entity decoded); for tags: the tag name. */
  readonly value: string;
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };
const ENTITY = /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/y;
const TAG_NAME = /^<\/?\s*([a-zA-Z][\w-]*)/;

/** The HTML split into messages of at most `limit` characters, each valid and balanced. */
export function splitTelegramHtml(html: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  return splitTokens(tokenizeHtml(html), limit);
}

/** Plain text split into messages of at most `limit` UTF-16 code units. */
export function splitPlain(text: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  const tokens: Token[] = [];
  for (const char of text) tokens.push({ kind: 'text', raw: char, value: char });
  return splitTokens(tokens, limit);
}

/**
 * The text a reader would see, for sending without parse_mode when Telegram still rejects the HTML:
 * tags stripped, entities decoded, and a link's address kept after its text when the text does not
 * already show it. The result can be longer than the HTML's visible text; split it with splitPlain.
 */
export function plainTextFallback(html: string): string {
  let out = '';
  const links: { href: string; start: number }[] = [];
  for (const token of tokenizeHtml(html)) {
    if (token.kind === 'text') out += token.value;
    else if (token.kind === 'open' && token.value === 'a') links.push({ href: hrefOf(token.raw), start: out.length });
    else if (token.kind === 'close' && token.value === 'a') {
      const link = links.pop();
      if (link && link.href !== '' && !out.slice(link.start).includes(link.href)) out += ` (${link.href})`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function tokenizeHtml(html: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < html.length) {
    const c = html[i] ?? '';
    if (c === '<') {
      const end = tagEnd(html, i);
      const name = end > 0 ? TAG_NAME.exec(html.slice(i, end + 1))?.[1] : undefined;
      if (end > 0 && name) {
        const raw = html.slice(i, end + 1);
        tokens.push({ kind: raw.startsWith('</') ? 'close' : 'open', raw, value: name.toLowerCase() });
        i = end + 1;
        continue;
      }
    }
    if (c === '&') {
      ENTITY.lastIndex = i;
      const m = ENTITY.exec(html);
      if (m) {
        tokens.push({ kind: 'text', raw: m[0], value: decodeEntity(m[1] ?? '') ?? m[0] });
        i += m[0].length;
        continue;
      }
    }
    const point = html.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(point);
    tokens.push({ kind: 'text', raw: char, value: char });
    i += char.length;
  }
  return tokens;
}

/** The index of the `>` closing the tag that opens at `start`, skipping quoted attribute values. */
function tagEnd(html: string, start: number): number {
  let quote = '';
  for (let j = start + 1; j < html.length; j++) {
    const c = html[j];
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return j;
    } else if (c === '<') {
      return -1;
    }
  }
  return -1;
}

function decodeEntity(body: string): string | undefined {
  if (body.startsWith('#')) {
    const point = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    if (!Number.isInteger(point) || point <= 0 || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return undefined;
    return String.fromCodePoint(point);
  }
  return NAMED_ENTITIES[body];
}

function hrefOf(tag: string): string {
  const m = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(tag);
  const value = m?.[1] ?? m?.[2] ?? m?.[3] ?? '';
  return value.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (all, body: string) => decodeEntity(body) ?? all);
}

// ---------------------------------------------------------------------------------------------
// The splitter proper, over tokens that are each atomic.

/** Break preference: a paragraph break beats a line break beats a space (beats any other point). */
const Break = { Space: 0, Line: 1, Paragraph: 2 } as const;

interface Cut {
  /** The part ends before this token. */
  readonly at: number;
  /** The next part starts at this token (after the whitespace the cut consumed). */
  readonly resume: number;
}

const BLOCK_TAGS = new Set(['pre', 'blockquote']);

function splitTokens(tokens: readonly Token[], limit: number): string[] {
  const n = tokens.length;
  // rawBefore[k]: raw length of tokens [0, k); visibleBefore[k]: their visible length.
  const rawBefore = new Array<number>(n + 1).fill(0);
  const visibleBefore = new Array<number>(n + 1).fill(0);
  // stacks[k]: the tags open before token k.
  const stacks: (readonly OpenTag[])[] = [[]];
  for (let k = 0; k < n; k++) {
    const token = tokens[k] as Token;
    rawBefore[k + 1] = (rawBefore[k] ?? 0) + token.raw.length;
    visibleBefore[k + 1] = (visibleBefore[k] ?? 0) + (token.kind === 'text' ? token.value.length : 0);
    const stack = stacks[k] ?? [];
    if (token.kind === 'open') stacks.push([...stack, { name: token.value, raw: token.raw }]);
    else if (token.kind === 'close' && stack[stack.length - 1]?.name === token.value) stacks.push(stack.slice(0, -1));
    else stacks.push(stack);
  }
  const opening = (stack: readonly OpenTag[]): string => stack.map((t) => t.raw).join('');
  const closing = (stack: readonly OpenTag[]): string =>
    stack
      .map((t) => `</${t.name}>`)
      .reverse()
      .join('');
  const openingLength = stacks.map((stack) => opening(stack).length);
  const closingLength = stacks.map((stack) => closing(stack).length);
  const rawOf = (from: number, to: number): number =>
    (openingLength[from] ?? 0) + (rawBefore[to] ?? 0) - (rawBefore[from] ?? 0) + (closingLength[to] ?? 0);
  const fits = (from: number, to: number): boolean =>
    rawOf(from, to) <= limit && (visibleBefore[to] ?? 0) - (visibleBefore[from] ?? 0) <= limit;

  const parts: string[] = [];
  const isLooseSpace = (k: number): boolean => {
    const token = tokens[k];
    return token?.kind === 'text' && /\s/.test(token.value) && (stacks[k] ?? []).length === 0;
  };
  const emit = (start: number, end: number): void => {
    // Telegram trims a message; whitespace outside any tag at either end would go anyway.
    let from = start;
    let to = end;
    while (from < to && isLooseSpace(from)) from++;
    while (to > from && isLooseSpace(to - 1)) to--;
    let text = '';
    for (let k = from; k < to; k++) if (tokens[k]?.kind === 'text') text += tokens[k]?.value;
    if (text.trim() === '') return;
    let raw = opening(stacks[from] ?? []);
    for (let k = from; k < to; k++) raw += tokens[k]?.raw;
    parts.push(raw + closing(stacks[to] ?? []));
  };

  /** Where to end the part that starts at `start`, which does not fit whole. */
  const chooseCut = (start: number): Cut => {
    const best: (Cut | undefined)[] = [];
    let furthest = -1;
    for (let k = start + 1; k <= n; k++) {
      // Past this point even without closing tags the part is too long, and it only grows.
      if ((openingLength[start] ?? 0) + (rawBefore[k] ?? 0) - (rawBefore[start] ?? 0) > limit) break;
      if (!fits(start, k)) continue;
      furthest = k;
      const token = tokens[k];
      if (token === undefined) continue;
      const previous = tokens[k - 1];
      if (token.kind === 'text' && /\s/.test(token.value)) {
        if (previous?.kind === 'text' && /\s/.test(previous.value)) continue; // cut where the whitespace starts
        // The cut takes the whitespace up to its last line break; the next line keeps its indentation.
        let end = k;
        let newlines = 0;
        let afterLastNewline = -1;
        while (tokens[end]?.kind === 'text' && /\s/.test(tokens[end]?.value ?? '')) {
          if (tokens[end]?.value === '\n') {
            newlines++;
            afterLastNewline = end + 1;
          }
          end++;
        }
        const kind = newlines >= 2 ? Break.Paragraph : newlines === 1 ? Break.Line : Break.Space;
        best[kind] = { at: k, resume: newlines > 0 ? afterLastNewline : end };
      } else if ((stacks[k] ?? []).length === 0) {
        const opensBlock = token.kind === 'open' && BLOCK_TAGS.has(token.value);
        const closedBlock = previous?.kind === 'close' && BLOCK_TAGS.has(previous.value);
        if (opensBlock || closedBlock) {
          let at = k;
          while (at > start + 1 && tokens[at - 1]?.kind === 'text' && /\s/.test(tokens[at - 1]?.value ?? '')) at--;
          best[Break.Paragraph] = { at, resume: k };
        }
      }
    }

    if (furthest < 0) return { at: start + 1, resume: start + 1 }; // not even one token fits: take it anyway
    // A preferred break is taken if it keeps at least half of what would fit.
    const furthestRaw = rawOf(start, furthest);
    for (const kind of [Break.Paragraph, Break.Line, Break.Space]) {
      const cut = best[kind];
      if (cut && rawOf(start, cut.at) * 2 >= furthestRaw) return cut;
    }
    // A hard cut: step back over tags that would open only to close again.
    let at = furthest;
    while (at > start + 1 && tokens[at - 1]?.kind === 'open') at--;
    return { at, resume: at };
  };

  let start = 0;
  while (start < n) {
    if (fits(start, n)) {
      emit(start, n);
      break;
    }
    const cut = chooseCut(start);
    emit(start, cut.at);
    start = cut.resume;
  }
  return parts;
}

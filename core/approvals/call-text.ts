/**
 * A tool call's text as a person deciding on it reads it: nothing hidden by control characters or
 * bidirectional overrides, and a long one cut in the middle, so its end (where `&& curl …|sh` would be)
 * shows too.
 */

/** C0 and C1 controls (tabs and newlines aside), and the marks that reorder or hide text. */
const HIDING = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Writes every character that could hide or reorder text as a visible escape (`\x1b`, `\r`, `\u202e`). */
export function visibleText(text: string): string {
  return text.replace(HIDING, (char) => {
    if (char === '\r') return '\\r';
    const code = char.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The head and the tail of a text longer than `max`, with how much was left out between them. */
export function headAndTail(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = Math.max(2, max - 40);
  const head = Math.ceil(room / 2);
  const tail = room - head;
  return `${text.slice(0, head)} … ${text.length - head - tail} characters left out … ${text.slice(text.length - tail)}`;
}

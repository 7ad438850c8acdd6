/**
 * The lines of a note that hold a query's words, numbered from 1. Words match on their stem-like
 * start, as the index's stemmer would (`deploying` finds `deployment`).
 */
export function matchingLines(text: string, words: readonly string[], max: number): { line: number; text: string }[] {
  const stems = words.map((word) => (word.length > 5 ? word.slice(0, Math.max(4, word.length - 3)) : word));
  if (stems.length === 0) return [];
  const found: { line: number; text: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && found.length < max; i += 1) {
    const line = lines[i] ?? '';
    const lower = line.toLowerCase();
    if (stems.some((stem) => lower.includes(stem))) found.push({ line: i + 1, text: line.length > 200 ? `${line.slice(0, 200)}…` : line });
  }
  return found;
}

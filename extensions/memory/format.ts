import type { ReadResult, SearchResult } from './memory-book.ts';

/** Search results as text for a model or a terminal. */
export function formatSearch(results: readonly SearchResult[]): string {
  if (results.length === 0) return 'no notes match';
  return results
    .map((r, i) => [`${i + 1}. ${r.path} — ${r.title} (score ${r.score}${r.tags.length ? `; tags ${r.tags.join(', ')}` : ''})`, ...r.lines.map((l) => `   ${l.line}: ${l.text}`)].join('\n'))
    .join('\n');
}

/** A note or a folder listing as text. */
export function formatRead(result: ReadResult): string {
  if (result.kind === 'folder') {
    if (result.notes.length === 0) return `${result.path}: no notes`;
    return [`${result.path}: ${result.notes.length} note${result.notes.length === 1 ? '' : 's'}`, ...result.notes.map((n) => `- ${n.path} — ${n.title} (${n.size} bytes, ${n.modified})`)].join('\n');
  }
  const range = result.totalLines === 0 ? 'empty' : `lines ${result.fromLine}–${result.toLine} of ${result.totalLines}`;
  return `${result.path} — ${result.title} (${range})\n${result.text}`;
}

import { matchingLines } from './matching-lines.ts';
import type { MemoryBook } from './memory-book.ts';
import { plainWords, type IndexedNote, type NoteIndex } from './note-index.ts';
import { displayPath } from './note-path.ts';

/** How sessions are told about the memory tools, before the index of their notes. */
const TOOLS_GUIDE = [
  'You have a long-term memory of Markdown notes that outlives this conversation (tools mcp__memory__*).',
  'Save what you learn that will matter later (decisions, facts about the person and their projects, how things are done here) with memory_save; fix a note with memory_edit;',
  'look things up with memory_search before asking the person again; memory_read shows a note or a folder. Paths are relative (projects/acme.md); shared/… are notes every user shares.',
].join(' ');

/** Words too common to say what a prompt is about. */
const STOP_WORDS = new Set(
  'the a an and or but if then else of to in on at by for with from as is are was were be been being it its this that these those there here what which who whom whose when where why how can could should would will shall may might must do does did done have has had not no yes you your yours we our ours they them their i me my mine he she his her him please about into over under again just also very more most some any all each every other such only own same so than too up down out off'.split(
    ' ',
  ),
);

/** The system prompt part: how to use the tools, and the titles of the user's notes within `budget` bytes. */
export function memoryIndexText(index: NoteIndex, user: string, budget: number): string {
  const notes = [...index.list({ kind: 'user', user }), ...index.list({ kind: 'shared' })].sort((a, b) => b.mtimeMs - a.mtimeMs);
  if (notes.length === 0) return `${TOOLS_GUIDE}\nYour memory is empty so far.`;
  return `${TOOLS_GUIDE}\n${titlesWithin(notes, budget - Buffer.byteLength(TOOLS_GUIDE) - 1)}`;
}

function titlesWithin(notes: readonly IndexedNote[], budget: number): string {
  const lines = ['Notes in your memory (newest first):'];
  let used = Buffer.byteLength(lines[0] ?? '');
  let shown = 0;
  for (const note of notes) {
    const line = `- ${displayPath(note.ref)}: ${note.title}`;
    const cost = Buffer.byteLength(line) + 1;
    if (used + cost > budget - 60) break;
    lines.push(line);
    used += cost;
    shown += 1;
  }
  if (shown < notes.length) lines.push(`(${notes.length - shown} more: memory_search finds them)`);
  return lines.join('\n');
}

/**
 * Notes that bear on a prompt, within `budget` bytes: a note counts when it holds at least `minWords`
 * of the prompt's significant words (all of them, for a prompt with fewer). Undefined when none does.
 */
export function recallFor(book: MemoryBook, index: NoteIndex, user: string, prompt: string, options: { budget: number; minWords: number }): string | undefined {
  const words = plainWords(prompt)
    .filter((word) => word.length >= 3 && !STOP_WORDS.has(word) && !/^\d+$/.test(word))
    .slice(0, 32);
  if (words.length === 0) return undefined;
  const hits = index.search(words.join(' '), { user, shared: true }, { limit: 8, anyWord: true });
  if (hits.length === 0) return undefined;
  const ids = hits.map((hit) => hit.id);
  const coverage = new Map<number, number>(ids.map((id) => [id, 0]));
  for (const word of words) for (const id of index.containing(word, ids)) coverage.set(id, (coverage.get(id) ?? 0) + 1);
  const needed = Math.min(options.minWords, words.length);
  const relevant = hits.filter((hit) => (coverage.get(hit.id) ?? 0) >= needed);
  if (relevant.length === 0) return undefined;
  const header = 'From your memory (notes that match this message; memory_read shows a whole note):';
  const parts = [header];
  let used = Buffer.byteLength(header);
  for (const hit of relevant) {
    const lines = matchingLines(book.textOf(hit), words, 4).map((line) => `  ${line.line}: ${line.text.trim()}`);
    let block = `- ${displayPath(hit.ref)} — ${hit.title}`;
    for (const line of lines) {
      if (used + Buffer.byteLength(block) + Buffer.byteLength(line) + 2 > options.budget) break;
      block += `\n${line}`;
    }
    const cost = Buffer.byteLength(block) + 1;
    if (used + cost > options.budget) break;
    parts.push(block);
    used += cost;
  }
  return parts.length > 1 ? parts.join('\n') : undefined;
}

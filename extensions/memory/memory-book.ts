import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from 'claude-ext/extension';
import type { IndexSync } from './index-sync.ts';
import { plainWords, type IndexedNote, type NoteIndex } from './note-index.ts';
import { displayPath, NotePathError, parseNotePath, resolveNoteFile, scopeDir, type NoteRef, type NoteScope } from './note-path.ts';
import { isValidTag, withTags } from './note-text.ts';
import { matchingLines } from './matching-lines.ts';

export class MemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryError';
  }
}

export interface MemoryLimits {
  readonly maxNoteBytes: number;
  readonly maxUserBytes: number;
}

/** Who acts: a user, and whether they may write the shared notes. */
export interface MemoryCaller {
  readonly user: string;
  readonly writesShared: boolean;
}

export type SaveMode = 'create' | 'replace' | 'append';
export type SearchScopeName = 'mine' | 'shared' | 'all';

export interface SearchResult {
  readonly path: string;
  readonly title: string;
  readonly score: number;
  readonly tags: readonly string[];
  readonly lines: readonly { readonly line: number; readonly text: string }[];
}

export interface NoteListing {
  readonly path: string;
  readonly title: string;
  readonly size: number;
  readonly modified: string;
}

export type ReadResult =
  | { readonly kind: 'note'; readonly path: string; readonly title: string; readonly fromLine: number; readonly toLine: number; readonly totalLines: number; readonly text: string }
  | { readonly kind: 'folder'; readonly path: string; readonly notes: readonly NoteListing[] };

/**
 * The notes: files first (written atomically, checked against the limits), then the index, at once.
 * Every path is the caller's own folder unless it starts with `shared/`.
 */
export class MemoryBook {
  constructor(
    private readonly root: string,
    private readonly index: NoteIndex,
    private readonly sync: IndexSync,
    private readonly limits: () => MemoryLimits,
  ) {}

  save(caller: MemoryCaller, given: string, content: string, mode: SaveMode, tags: readonly string[] = []): { path: string; bytes: number; created: boolean } {
    const ref = this.writable(caller, given);
    const file = resolveNoteFile(this.root, ref);
    for (const tag of tags) if (!isValidTag(tag)) throw new MemoryError(`tags: "${tag}" is not a tag (letters, digits, _ / -; at most 64)`);
    const before = readIfExists(file);
    if (mode === 'create' && before !== undefined) throw new MemoryError(`${displayPath(ref)} already exists: use mode "replace" or "append", or memory_edit`);
    let text = mode === 'append' && before !== undefined ? `${before}${before.endsWith('\n') || before === '' ? '' : '\n'}${content}` : content;
    if (!text.endsWith('\n')) text += '\n';
    text = withTags(text, tags);
    this.write(ref, file, text, before);
    return { path: displayPath(ref), bytes: Buffer.byteLength(text), created: before === undefined };
  }

  edit(caller: MemoryCaller, given: string, oldText: string, newText: string): { path: string; bytes: number } {
    const ref = this.writable(caller, given);
    const file = resolveNoteFile(this.root, ref);
    const before = readIfExists(file);
    if (before === undefined) throw new MemoryError(`${displayPath(ref)} does not exist`);
    if (oldText.length === 0) throw new MemoryError('old_text: must not be empty');
    const count = occurrences(before, oldText);
    if (count !== 1) throw new MemoryError(`old_text occurs ${count} times in ${displayPath(ref)}; it must occur exactly once (include more of the surrounding text)`);
    const text = before.replace(oldText, () => newText);
    this.write(ref, file, text, before);
    return { path: displayPath(ref), bytes: Buffer.byteLength(text) };
  }

  delete(caller: MemoryCaller, given: string): { path: string } {
    const ref = this.writable(caller, given);
    const file = resolveNoteFile(this.root, ref);
    if (readIfExists(file) === undefined) throw new MemoryError(`${displayPath(ref)} does not exist`);
    fs.rmSync(file);
    this.sync.refresh(ref, file);
    removeEmptyParents(path.dirname(file), scopeDir(this.root, ref.scope));
    return { path: displayPath(ref) };
  }

  read(user: string, given: string, fromLine = 1, lines = 400): ReadResult {
    const ref = parseNotePath(given, user, { folder: true });
    if (!ref.path.endsWith('.md')) return { kind: 'folder', path: displayPath(ref) || '.', notes: this.list(user, ref) };
    const file = resolveNoteFile(this.root, ref);
    const text = readIfExists(file);
    if (text === undefined) throw new MemoryError(`${displayPath(ref)} does not exist`);
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    const first = Math.max(1, fromLine);
    const chosen = all.slice(first - 1, first - 1 + Math.max(1, lines));
    const note = this.index.get(ref);
    return { kind: 'note', path: displayPath(ref), title: note?.title ?? path.basename(ref.path, '.md'), fromLine: first, toLine: first + chosen.length - 1, totalLines: all.length, text: chosen.join('\n') };
  }

  /** The notes of a folder (a whole scope when its path is empty), newest first. */
  list(user: string, folder: NoteRef): NoteListing[] {
    const prefix = folder.path ? `${folder.path.replace(/\/$/, '')}/` : '';
    const scope: NoteScope = folder.scope.kind === 'shared' ? { kind: 'shared' } : { kind: 'user', user };
    return this.index
      .list(scope)
      .filter((note) => note.ref.path.startsWith(prefix))
      .sort((a, b) => b.mtimeMs - a.mtimeMs)
      .map(listing);
  }

  search(user: string, query: string, options: { scope?: SearchScopeName; tag?: string; limit?: number } = {}): SearchResult[] {
    if (query.trim().length === 0) throw new MemoryError('query: must not be empty');
    this.sync.settle();
    const scope = options.scope ?? 'all';
    const hits = this.index.search(query, { ...(scope !== 'shared' ? { user } : {}), shared: scope !== 'mine' }, { ...(options.tag ? { tag: options.tag } : {}), limit: options.limit ?? 10 });
    const words = plainWords(query);
    return hits.map((hit) => ({ path: displayPath(hit.ref), title: hit.title, score: round(hit.score), tags: hit.tags, lines: matchingLines(this.textOf(hit), words, 5) }));
  }

  /** The bytes a user's notes take. */
  bytesOf(user: string): number {
    return this.index.bytes({ kind: 'user', user });
  }

  textOf(note: IndexedNote): string {
    return readIfExists(path.join(scopeDir(this.root, note.ref.scope), note.ref.path)) ?? '';
  }

  private writable(caller: MemoryCaller, given: string): NoteRef {
    let ref: NoteRef;
    try {
      ref = parseNotePath(given, caller.user);
    } catch (error) {
      if (error instanceof NotePathError) throw new MemoryError(error.message);
      throw error;
    }
    if (ref.scope.kind === 'shared' && !caller.writesShared) throw new MemoryError(`${displayPath(ref)}: the shared notes are read-only for ${caller.user} (memory.shared_writers lists who may write them)`);
    return ref;
  }

  private write(ref: NoteRef, file: string, text: string, before: string | undefined): void {
    const { maxNoteBytes, maxUserBytes } = this.limits();
    const bytes = Buffer.byteLength(text);
    if (bytes > maxNoteBytes) throw new MemoryError(`${displayPath(ref)} would be ${bytes} bytes; a note is at most ${maxNoteBytes} bytes (memory.max_note_bytes)`);
    if (ref.scope.kind === 'user') {
      const total = this.bytesOf(ref.scope.user) - Buffer.byteLength(before ?? '') + bytes;
      if (total > maxUserBytes) throw new MemoryError(`${ref.scope.user}'s memory would take ${total} bytes; it may take at most ${maxUserBytes} (memory.max_user_bytes): delete or shorten notes first`);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, text);
    this.sync.refresh(ref, file);
  }
}

function listing(note: IndexedNote): NoteListing {
  return { path: displayPath(note.ref), title: note.title, size: note.size, modified: new Date(note.mtimeMs).toISOString() };
}

function readIfExists(file: string): string | undefined {
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) return undefined;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function occurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) count += 1;
  return count;
}

function removeEmptyParents(dir: string, stop: string): void {
  for (let current = dir; current.startsWith(stop + path.sep); current = path.dirname(current)) {
    try {
      fs.rmdirSync(current);
    } catch {
      return;
    }
  }
}

function round(score: number): number {
  return Math.round(score * 1000) / 1000;
}

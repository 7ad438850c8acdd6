import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from 'claude-ext/extension';
import { IndexSync } from '../../../../extensions/memory/index-sync.ts';
import { MemoryBook, type MemoryCaller, type MemoryLimits } from '../../../../extensions/memory/memory-book.ts';
import { NoteIndex } from '../../../../extensions/memory/note-index.ts';

export interface MemoryFixture {
  readonly root: string;
  readonly index: NoteIndex;
  readonly sync: IndexSync;
  readonly book: MemoryBook;
  close(): void;
}

export const alice: MemoryCaller = { user: 'alice', writesShared: false };
export const bob: MemoryCaller = { user: 'bob', writesShared: false };
export const terminal: MemoryCaller = { user: 'local', writesShared: true };

/** A memory folder in a temporary directory, with its index; no watcher unless asked. */
export function memoryFixture(limits: Partial<MemoryLimits> = {}): MemoryFixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'memory-'));
  fs.mkdirSync(path.join(root, 'users'));
  fs.mkdirSync(path.join(root, 'shared'));
  const index = new NoteIndex(path.join(root, 'index.sqlite'));
  const sync = new IndexSync(root, index, silentLogger);
  const book = new MemoryBook(root, index, sync, () => ({ maxNoteBytes: 256 * 1024, maxUserBytes: 50 * 1024 * 1024, ...limits }));
  return {
    root,
    index,
    sync,
    book,
    close() {
      sync.unwatch();
      index.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

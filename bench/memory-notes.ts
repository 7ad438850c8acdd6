/**
 * `npm run bench -- memory`: the memory extension's index over 10,000 generated notes — search
 * latency (p50, p99; the goal is p99 under 10 ms), a full rebuild from the files, and reindexing one
 * edited note. Runs the extension's own modules on a temporary folder; no daemon.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../core/util/log.ts';
import { IndexSync } from '../extensions/memory/index-sync.ts';
import { MemoryBook } from '../extensions/memory/memory-book.ts';
import { NoteIndex } from '../extensions/memory/note-index.ts';

const NOTES = Number(process.env.BENCH_NOTES ?? 10_000);
const USERS = 10;
const SEARCHES = 2000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** A vocabulary with a Zipf-like spread: a few words are everywhere, most are rare. */
function vocabulary(size: number, random: () => number): string[] {
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'de', 'pa', 'gro', 'tin', 'bel', 'mar', 'qui', 'zen'];
  const words = new Set<string>();
  while (words.size < size) {
    const length = 2 + Math.floor(random() * 3);
    words.add(Array.from({ length }, () => syllables[Math.floor(random() * syllables.length)]).join(''));
  }
  return [...words];
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

export async function memoryNotesBench(): Promise<void> {
  const random = seeded(20261201);
  const words = vocabulary(8000, random);
  const pick = (): string => words[Math.floor(words.length * random() ** 3)] ?? 'ka';
  const sentence = (n: number): string => Array.from({ length: n }, pick).join(' ');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-'));
  try {
    for (let i = 0; i < NOTES; i += 1) {
      const dir = path.join(root, 'users', `user${i % USERS}`, `topic${i % 40}`);
      fs.mkdirSync(dir, { recursive: true });
      const body = Array.from({ length: 8 + Math.floor(random() * 20) }, () => sentence(6 + Math.floor(random() * 10))).join('\n');
      fs.writeFileSync(path.join(dir, `note${i}.md`), `# ${sentence(4)}\n\n## ${sentence(3)}\n${body}\n`);
    }
    const index = new NoteIndex(path.join(root, 'index.sqlite'));
    const sync = new IndexSync(root, index, silentLogger);
    let started = performance.now();
    const report = sync.scan();
    const rebuildMs = performance.now() - started;
    const book = new MemoryBook(root, index, sync, () => ({ maxNoteBytes: 1 << 20, maxUserBytes: 1 << 30 }));
    const search = (i: number): number => {
      const query = Array.from({ length: 1 + (i % 3) }, pick).join(' ');
      return book.search(`user${i % USERS}`, query, { limit: 10 }).length;
    };
    // Without a watcher (no inotify instance left) each search scans the folder first.
    const unwatched: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      started = performance.now();
      search(i);
      unwatched.push(performance.now() - started);
    }
    sync.watch();
    const deadline = Date.now() + 5000;
    while (!sync.watching && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (!sync.watching) console.log('  (the folder could not be watched here: the figures below include a scan per search)');

    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < SEARCHES; i += 1) {
      started = performance.now();
      hits += search(i);
      times.push(performance.now() - started);
    }

    const edited = path.join(root, 'users', 'user3', 'topic3', 'note3.md');
    const reindex: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      fs.appendFileSync(edited, `${sentence(8)}\n`);
      started = performance.now();
      sync.refresh({ scope: { kind: 'user', user: 'user3' }, path: 'topic3/note3.md' }, edited);
      reindex.push(performance.now() - started);
    }
    const bytes = fs.statSync(path.join(root, 'index.sqlite')).size + (fs.statSync(path.join(root, 'index.sqlite-wal'), { throwIfNoEntry: false })?.size ?? 0);
    console.log(`memory notes (${report.files} notes of ${USERS} users, ${(bytes / 2 ** 20).toFixed(1)} MiB index)`);
    console.log(`  search (${SEARCHES} queries of 1-3 words, 10 results with matching lines): p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms; ${(hits / SEARCHES).toFixed(1)} results on average`);
    console.log(`  search with no watcher (a scan of the folder first): p50 ${percentile(unwatched, 50).toFixed(1)} ms`);
    console.log(`  full rebuild from the files: ${rebuildMs.toFixed(0)} ms (${(rebuildMs / report.files).toFixed(3)} ms a note)`);
    console.log(`  reindex of one edited note: p50 ${percentile(reindex, 50).toFixed(2)} ms, p99 ${percentile(reindex, 99).toFixed(2)} ms`);
    sync.unwatch();
    index.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

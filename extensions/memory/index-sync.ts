import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'claude-ext/extension';
import type { NoteIndex } from './note-index.ts';
import { userOfFolder, type NoteRef } from './note-path.ts';
import { readNoteText } from './note-text.ts';

/** Written into the folder to learn whether the watcher works; the scan skips dot-files. */
const PROBE_FILE = '.watch-probe';
const PROBE_MS = 2000;

/** What a scan found and changed. */
export interface ScanReport {
  readonly files: number;
  readonly indexed: number;
  readonly removed: number;
}

/**
 * Keeps the index equal to the files: a full scan (at start, after a directory moved), and a watcher
 * that reindexes each note changed by hand. Without a watcher, searches scan first.
 */
export class IndexSync {
  private watcher: fs.FSWatcher | undefined;
  private readonly dirty = new Set<string>();
  private rescanDue = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private confirmed = false;
  private probeSentAt: number | undefined;

  constructor(
    private readonly root: string,
    private readonly index: NoteIndex,
    private readonly logger: Logger,
  ) {}

  /** Whether changes made by hand are seen as they happen (the watcher answered its last probe). */
  get watching(): boolean {
    return this.watcher !== undefined && this.confirmed;
  }

  /** Compares every note file with the index; reindexes what changed, drops what is gone. */
  scan(): ScanReport {
    const known = new Map(this.index.all().map((note) => [refKey(note.ref), note]));
    let files = 0;
    let indexed = 0;
    this.index.transaction(() => {
      for (const { ref, file } of this.noteFiles()) {
        files += 1;
        const stat = statOf(file);
        if (!stat) continue;
        const entry = known.get(refKey(ref));
        known.delete(refKey(ref));
        if (entry && entry.size === stat.size && entry.mtimeMs === stat.mtimeMs) continue;
        if (this.indexFile(ref, file, stat)) indexed += 1;
      }
      for (const gone of known.values()) this.index.remove(gone.ref);
    });
    return { files, indexed, removed: known.size };
  }

  /** Reindexes one note from its file (removes it when the file is gone). */
  refresh(ref: NoteRef, file: string): void {
    const stat = statOf(file);
    if (!stat) {
      this.index.remove(ref);
      return;
    }
    this.indexFile(ref, file, stat);
  }

  /**
   * Starts watching the folder. A watcher can fail without a word (no inotify instance left), so it
   * counts only once it reported a probe file written into the folder; until then searches scan.
   */
  watch(): void {
    try {
      this.watcher = fs.watch(this.root, { recursive: true }, (_event, name) => this.changed(name === null ? undefined : String(name)));
      this.watcher.on('error', (error) => {
        this.logger.warn('the memory folder can no longer be watched; searches scan it first', { error: (error as Error).message });
        this.unwatch();
      });
    } catch (error) {
      this.logger.warn('the memory folder cannot be watched; searches scan it first', { error: (error as Error).message });
      return;
    }
    this.probe();
  }

  /** Writes the probe file; a watcher that does not report it within PROBE_MS is given up (and tried again). */
  probe(): void {
    if (!this.watcher) {
      this.watch();
      return;
    }
    const sentAt = Date.now();
    this.probeSentAt = sentAt;
    try {
      fs.writeFileSync(path.join(this.root, PROBE_FILE), String(sentAt));
    } catch (error) {
      this.logger.warn('could not write the watch probe', { error: (error as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      if (this.probeSentAt !== sentAt || !this.watcher) return;
      if (this.confirmed) this.logger.warn('the memory folder watcher stopped reporting changes; searches scan the folder first');
      this.confirmed = false;
      this.unwatch();
    }, PROBE_MS);
    timer.unref();
  }

  /** Applies the changes seen so far at once (a search calls this so it never sees a stale note). */
  settle(): void {
    if (!this.watcher) {
      this.scan();
      return;
    }
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const rescan = this.rescanDue;
    const dirty = [...this.dirty];
    this.rescanDue = false;
    this.dirty.clear();
    if (rescan) {
      this.scan();
      return;
    }
    for (const relative of dirty) {
      const ref = refOfRelative(relative);
      if (ref) this.refresh(ref, path.join(this.root, relative));
    }
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.confirmed = false;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private changed(relative: string | undefined): void {
    if (relative === PROBE_FILE) {
      this.probeSentAt = undefined;
      if (!this.confirmed) this.logger.info('watching the memory folder for changes made by hand');
      this.confirmed = true;
      return;
    }
    if (relative !== undefined) {
      const top = relative.split(path.sep)[0];
      // Only the notes' folders count: the index's own files may live next to them.
      if (top !== 'users' && top !== 'shared') return;
      if (relative.split(path.sep).some((part) => part.startsWith('.'))) return;
    }
    if (relative === undefined || !relative.endsWith('.md')) this.rescanDue = true;
    else this.dirty.add(relative);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        try {
          this.settle();
        } catch (error) {
          this.logger.warn('could not reindex changed notes', { error: (error as Error).message });
        }
      }, 100);
      this.flushTimer.unref();
    }
  }

  private indexFile(ref: NoteRef, file: string, stat: fs.Stats): boolean {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return false;
    }
    this.index.put(ref, readNoteText(text, path.basename(file)), stat.size, stat.mtimeMs);
    return true;
  }

  /** Every note file, symbolic links and dot-files skipped. */
  private *noteFiles(): Generator<{ ref: NoteRef; file: string }> {
    const usersDir = path.join(this.root, 'users');
    for (const entry of readDir(usersDir)) {
      if (!entry.isDirectory()) continue;
      const user = userOfFolder(entry.name);
      for (const relative of walk(path.join(usersDir, entry.name), '')) yield { ref: { scope: { kind: 'user', user }, path: relative }, file: path.join(usersDir, entry.name, relative) };
    }
    for (const relative of walk(path.join(this.root, 'shared'), '')) yield { ref: { scope: { kind: 'shared' }, path: relative }, file: path.join(this.root, 'shared', relative) };
  }
}

/** A path under the root (`users/alice/x.md`, `shared/y.md`) as a note, if it is one. */
function refOfRelative(relative: string): NoteRef | undefined {
  const parts = relative.split(path.sep);
  if (parts.some((part) => part.startsWith('.'))) return undefined;
  if (parts[0] === 'shared' && parts.length > 1) return { scope: { kind: 'shared' }, path: parts.slice(1).join('/') };
  if (parts[0] === 'users' && parts.length > 2 && parts[1]) return { scope: { kind: 'user', user: userOfFolder(parts[1]) }, path: parts.slice(2).join('/') };
  return undefined;
}

function* walk(dir: string, prefix: string): Generator<string> {
  for (const entry of readDir(dir)) {
    if (entry.name.startsWith('.') || entry.isSymbolicLink()) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* walk(path.join(dir, entry.name), relative);
    else if (entry.isFile() && entry.name.endsWith('.md')) yield relative;
  }
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function statOf(file: string): fs.Stats | undefined {
  try {
    const stat = fs.lstatSync(file);
    return stat.isFile() ? stat : undefined;
  } catch {
    return undefined;
  }
}

export function refKey(ref: NoteRef): string {
  return `${ref.scope.kind === 'user' ? `u:${ref.scope.user}` : 's'}\0${ref.path}`;
}

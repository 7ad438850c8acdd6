import fs from 'node:fs';
import path from 'node:path';
import type { SessionFiles, SessionStore } from './session-store.ts';
import type { PromptRecord, SessionState } from './session-types.ts';
import { StreamTail } from './claude/stream-tail.ts';

type TimerName = 'timeout' | 'grace' | 'idle' | 'ephemeral';

/** A session's life in memory: its state, queue, stream reader, file watcher, timers, and a lock. */
export class SessionRuntime {
  readonly queue: PromptRecord[] = [];
  tail: StreamTail | undefined;
  turnSawInit = false;
  interruptAnswered = false;
  readonly retriedPromptIds = new Set<string>();
  stderrOffsetAtLaunch = 0;
  lastLaunchId = 0;
  persistedOffset = -1;
  lastFinishedPromptId: string | undefined;
  private watcher: fs.FSWatcher | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    public state: SessionState,
    readonly files: SessionFiles,
  ) {}

  /** Replaces fields of the state and persists it; `undefined` removes a field. */
  update(store: SessionStore, patch: Partial<{ -readonly [K in keyof SessionState]: SessionState[K] }>): void {
    this.state = { ...this.state, ...patch, updatedAt: new Date().toISOString() };
    store.save(this.state);
  }

  /** Runs operations on this session one at a time, in order. */
  serial<T>(operation: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(operation, operation);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Reads the stream from `offset` and re-reads it whenever the stream or the exit marker changes. */
  follow(offset: number, onLine: (line: string, endOffset: number) => void, onActivity: () => void): void {
    this.unwatch();
    this.tail = new StreamTail(this.files.stream, offset, onLine);
    const watched = new Set([path.basename(this.files.stream), path.basename(this.files.exit)]);
    try {
      this.watcher = fs.watch(this.files.dir, { persistent: false }, (_event, filename) => {
        if (filename === null || watched.has(filename.toString())) onActivity();
      });
      this.watcher.on('error', () => this.unwatchFiles());
    } catch {
      this.watcher = undefined;
    }
  }

  unwatch(): void {
    this.unwatchFiles();
    this.tail = undefined;
  }

  private unwatchFiles(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  setTimer(name: TimerName, delayMs: number, action: () => void): void {
    this.clearTimer(name);
    const timer = setTimeout(() => {
      this.timers.delete(name);
      action();
    }, delayMs);
    timer.unref();
    this.timers.set(name, timer);
  }

  clearTimer(name: TimerName): void {
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
  }

  stopTimers(): void {
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
  }
}

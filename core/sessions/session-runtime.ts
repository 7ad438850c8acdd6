import fs from 'node:fs';
import path from 'node:path';
import type { SessionFiles, SessionStore } from './session-store.ts';
import type { PromptRecord, SessionState, SessionSummary } from './session-types.ts';
import { StreamTail } from './claude/stream-tail.ts';
import type { Turn } from './turn.ts';

type TimerName = 'timeout' | 'grace' | 'idle' | 'ephemeral';

export type StatePatch = Partial<{ -readonly [K in keyof SessionState]: SessionState[K] }>;

/** A session's life in memory: its state, queue, stream reader, file watcher, timers, and a lock. */
export class SessionRuntime {
  readonly queue: PromptRecord[] = [];
  readonly files: SessionFiles;
  tail: StreamTail | undefined;
  /** The running turn's in-memory part, present while `state.current` is. */
  turn: Turn | undefined;
  readonly retriedPromptIds = new Set<string>();
  stderrOffsetAtLaunch = 0;
  lastLaunchId = 0;
  persistedOffset = -1;
  lastFinishedPromptId: string | undefined;
  private watcher: fs.FSWatcher | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private lock: Promise<unknown> = Promise.resolve();
  /** Set once the session is deleted: work still scheduled for it must leave no trace. */
  private removed = false;

  constructor(
    public state: SessionState,
    private readonly store: SessionStore,
  ) {
    this.files = store.files(state.id);
  }

  /** Replaces fields of the state and persists it; `undefined` removes a field. */
  update(patch: StatePatch): void {
    this.state = { ...this.state, ...patch, updatedAt: new Date().toISOString() };
    if (!this.removed) this.store.save(this.state);
  }

  /** The session was deleted: no more timers, no more writes into its directory. */
  markRemoved(): void {
    this.removed = true;
    this.stopTimers();
    this.unwatch();
  }

  get isRemoved(): boolean {
    return this.removed;
  }

  summary(): SessionSummary {
    const s = this.state;
    return {
      id: s.id,
      user: s.user,
      name: s.name,
      cwd: s.cwd,
      ...(s.template ? { template: s.template } : {}),
      labels: s.labels ?? {},
      conversationId: s.conversationId,
      status: s.status,
      ...(s.statusReason ? { statusReason: s.statusReason } : {}),
      warm: s.process !== undefined,
      queued: this.queue.length,
      ...(s.current ? { currentPromptId: s.current.promptId } : {}),
      ...(s.lastPrompt ? { lastPrompt: s.lastPrompt } : {}),
      counters: s.counters,
      createdAt: s.createdAt,
      lastActiveAt: s.lastActiveAt,
    };
  }

  /** Runs operations on this session one at a time, in order. */
  serial<T>(operation: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(operation, operation);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads the stream from `offset` and re-reads it whenever the stream or the exit marker changes.
   * Returns the error when the file system cannot be watched (the stream is then read on each poll).
   */
  follow(offset: number, onLine: (line: string, endOffset: number) => void, onActivity: () => void, onLineError: (error: unknown, endOffset: number) => void): Error | undefined {
    this.unwatch();
    this.tail = new StreamTail(this.files.stream, offset, onLine, onLineError);
    const watched = new Set([path.basename(this.files.stream), path.basename(this.files.exit)]);
    try {
      this.watcher = fs.watch(this.files.dir, { persistent: false }, (_event, filename) => {
        if (filename === null || watched.has(filename.toString())) onActivity();
      });
      this.watcher.on('error', () => this.unwatchFiles());
      return undefined;
    } catch (error) {
      this.watcher = undefined;
      return error as Error;
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
    if (this.removed) return;
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

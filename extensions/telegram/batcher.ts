/**
 * Debounces per key: `touch(key)` (re)starts the key's window; when it passes without another
 * touch (or the batch is older than `maxWaitMs`) `flush(key)` runs. What is batched is kept by the caller.
 */
export class BatchWindow {
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; firstAt: number }>();

  constructor(
    private readonly windowMs: () => number,
    private readonly flush: (key: string) => void,
    private readonly maxWaitMs = 10_000,
  ) {}

  touch(key: string): void {
    const now = Date.now();
    const current = this.timers.get(key);
    if (current) clearTimeout(current.timer);
    const firstAt = current?.firstAt ?? now;
    const wait = Math.max(0, Math.min(this.windowMs(), firstAt + this.maxWaitMs - now));
    this.timers.set(key, { timer: setTimeout(() => this.release(key), wait), firstAt });
  }

  /** Forgets a key's window (its batch was dropped). */
  cancel(key: string): void {
    const current = this.timers.get(key);
    if (current) clearTimeout(current.timer);
    this.timers.delete(key);
  }

  dispose(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private release(key: string): void {
    this.timers.delete(key);
    this.flush(key);
  }
}

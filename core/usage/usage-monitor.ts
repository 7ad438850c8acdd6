import type { UsageReading, UsageSnapshot, UsageSource, UsageWindow } from './usage-types.ts';

export interface UsageMonitorOptions {
  /** The source to read now (it may change on reload). */
  readonly source: () => UsageSource;
  /** How old a reading may be before `current()` takes a new one. */
  readonly cacheMs: () => number;
  readonly now?: () => number;
}

/**
 * The latest usage reading, taken again when older than asked for; one reading at a time (callers
 * during a reading share it). A failed reading is kept as long as a good one would be, so a broken
 * source is not run again on every call; it keeps the account known before and its windows until they
 * reset, with `error`.
 */
export class UsageMonitor {
  private latest: { snapshot: UsageSnapshot; at: number } | undefined;
  private reading: Promise<UsageSnapshot> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: UsageMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  current(maxAgeMs: number = this.options.cacheMs()): Promise<UsageSnapshot> {
    const latest = this.latest;
    if (latest && this.now() - latest.at <= maxAgeMs) return Promise.resolve(latest.snapshot);
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Forgets the reading (after the source changed). */
  reset(): void {
    this.latest = undefined;
  }

  private async read(): Promise<UsageSnapshot> {
    let snapshot: UsageSnapshot;
    try {
      const reading: UsageReading = await this.options.source().read();
      snapshot = { ...reading, checkedAt: new Date(this.now()).toISOString() };
    } catch (error) {
      // The account stays what it was; so do its windows until they reset.
      const known = this.latest?.snapshot;
      const unexpired = (window: UsageWindow | undefined): UsageWindow | undefined =>
        window?.resetsAt !== undefined && Date.parse(window.resetsAt) > this.now() ? window : undefined;
      const fiveHour = unexpired(known?.fiveHour);
      const sevenDay = unexpired(known?.sevenDay);
      const windowsCheckedAt = known?.windowsCheckedAt ?? known?.checkedAt;
      snapshot = {
        auth: known?.auth ?? 'unknown',
        ...(known?.subscriptionType ? { subscriptionType: known.subscriptionType } : {}),
        ...(fiveHour ? { fiveHour } : {}),
        ...(sevenDay ? { sevenDay } : {}),
        ...((fiveHour || sevenDay) && windowsCheckedAt ? { windowsCheckedAt } : {}),
        checkedAt: new Date(this.now()).toISOString(),
        error: (error as Error).message,
      };
    }
    this.latest = { snapshot, at: this.now() };
    return snapshot;
  }
}

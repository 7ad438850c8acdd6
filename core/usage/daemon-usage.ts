import { CostLedger } from './cost-ledger.ts';
import { UsageMonitor } from './usage-monitor.ts';
import type { DailyCost, ExtensionUsage, SessionCost, UsageSnapshot, UsageSource } from './usage-types.ts';
import type { EventLog } from '../sessions/event-log.ts';
import type { Disposable } from '../util/disposable.ts';

export interface DaemonUsageOptions {
  readonly eventLog: EventLog;
  /** The source as configured now. */
  readonly source: () => UsageSource;
  readonly cacheMs: () => number;
  /** The user of a session the log does not name one for. */
  readonly userOf: (sessionId: string) => string | undefined;
}

/** The daemon's usage: readings through a cache, costs from the event log kept as running totals. */
export class DaemonUsage implements ExtensionUsage, Disposable {
  private readonly monitor: UsageMonitor;
  private readonly ledger: CostLedger;
  private readonly following: Disposable;

  constructor(options: DaemonUsageOptions) {
    this.monitor = new UsageMonitor({ source: options.source, cacheMs: options.cacheMs });
    this.ledger = new CostLedger(options.userOf);
    // Both at once, before anything else can record: no record is missed or counted twice.
    this.ledger.load(CostLedger.logFiles(options.eventLog.file));
    this.following = options.eventLog.onRecord((record) => this.ledger.take(record));
  }

  current(maxAgeMs?: number): Promise<UsageSnapshot> {
    return this.monitor.current(maxAgeMs);
  }

  costs(options?: { readonly user?: string; readonly days?: number }): DailyCost[] {
    return this.ledger.costs(options);
  }

  sessionCosts(user?: string): SessionCost[] {
    return this.ledger.sessionCosts(user);
  }

  /** After a reload changed the source. */
  sourceChanged(): void {
    this.monitor.reset();
  }

  dispose(): void {
    this.following.dispose();
  }
}

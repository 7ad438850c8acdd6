/**
 * What the daemon knows about how much of the account's limits and money sessions use. Utilisation is
 * a percentage from 0 to 100, as Anthropic's usage endpoint (`/api/oauth/usage`, relayed by the CLI's
 * `get_usage` control request) reports it.
 */

export type AuthMode = 'subscription' | 'api_key' | 'unknown';

export interface UsageWindow {
  /** Percent of the window's limit used, 0–100. */
  readonly utilization: number;
  /** When the window resets (ISO time), when known. */
  readonly resetsAt?: string;
}

/** One reading from a usage source. */
export interface UsageReading {
  readonly auth: AuthMode;
  /** e.g. `pro`, `max` (subscriptions only). */
  readonly subscriptionType?: string;
  readonly fiveHour?: UsageWindow;
  readonly sevenDay?: UsageWindow;
}

export interface UsageSnapshot extends UsageReading {
  /** When the reading was taken (ISO time). */
  readonly checkedAt: string;
  /** Why there is no fresh reading; the other fields then hold what was known before, if anything. */
  readonly error?: string;
  /**
   * With `error`: when the last good reading was taken, whose windows are kept until they reset (a
   * failed reading must not let a valve forget that the limit was nearly used up).
   */
  readonly windowsCheckedAt?: string;
}

export interface DailyCost {
  /** YYYY-MM-DD, UTC. */
  readonly day: string;
  readonly user: string;
  readonly costUsd: number;
  readonly prompts: number;
}

export interface SessionCost {
  readonly sessionId: string;
  /** Cost of its prompts that ended today (UTC). */
  readonly today: number;
  readonly total: number;
}

/** Where readings come from: the claude CLI itself, or a configured command. */
export interface UsageSource {
  /** A description for messages, e.g. `the claude CLI (get_usage)`. */
  readonly name: string;
  /** Throws UsageReadError when no reading could be taken. */
  read(): Promise<UsageReading>;
}

export class UsageReadError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(`could not read usage from ${source}: ${problem}${hint ? `; ${hint}` : ''}`);
    this.name = 'UsageReadError';
  }
}

/** Usage as extensions see it (`ctx.usage`). */
export interface ExtensionUsage {
  /** The latest reading, taken again when older than `maxAgeMs` (default `usage.cache`). Never throws: a failed reading has `error`. */
  current(maxAgeMs?: number): Promise<UsageSnapshot>;
  /** Costs per user and UTC day from the event log, newest day first; `days` counts back from today. */
  costs(options?: { readonly user?: string; readonly days?: number }): DailyCost[];
  /** Cost of each session today (UTC) and in total. */
  sessionCosts(user?: string): SessionCost[];
}

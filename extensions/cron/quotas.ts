import { formatDuration } from './scheduler.ts';
import { shortestGap } from './schedule.ts';

/**
 * What a job made by a session may be: its schedule may fire at most once every `cron.min_interval`
 * (the job-count limit, `cron.max_jobs_per_user`, is kept by the store, in the transaction that adds
 * the job). Jobs from the terminal and from config are not limited.
 */

export const DEFAULT_MIN_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_JOBS_PER_USER = 20;

/** How many fires, over how long, the interval check looks at. */
const GAP_SEARCH = { maxFires: 100, horizonMs: 400 * 24 * 3_600_000 } as const;

/** A session's job would fire more often than `cron.min_interval` allows. */
export class ScheduleTooFrequentError extends Error {
  readonly code = 'cron_too_frequent';
  constructor(
    readonly schedule: string,
    readonly minIntervalMs: number,
    readonly gapMs: number,
    /** Two fires that close together. */
    readonly fires: readonly [string, string],
  ) {
    super(
      `schedule "${schedule}" fires ${formatDuration(gapMs)} apart (${fires[0]} and ${fires[1]}); ` +
        `a job made by a session may fire at most once every ${formatDuration(minIntervalMs)} (cron.min_interval): choose a schedule whose fires are at least that far apart`,
    );
    this.name = 'ScheduleTooFrequentError';
  }
}

/**
 * Throws ScheduleTooFrequentError when two of the schedule's next fires after `now` are closer than
 * `minIntervalMs` (0: no limit). The schedule must already be known to parse.
 */
export function checkMinInterval(schedule: string, timezone: string, minIntervalMs: number, now: number): void {
  if (minIntervalMs <= 0) return;
  const gap = shortestGap(schedule, timezone, now, GAP_SEARCH);
  if (gap !== undefined && gap.gapMs < minIntervalMs) {
    throw new ScheduleTooFrequentError(schedule.trim(), minIntervalMs, gap.gapMs, [new Date(gap.from).toISOString(), new Date(gap.to).toISOString()]);
  }
}

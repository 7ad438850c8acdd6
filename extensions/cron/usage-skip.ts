import type { UsageSnapshot } from 'claude-ext/extension';

/**
 * Why a fire is skipped for the subscription's usage, or undefined when it may run: a job with a
 * `skip_above_utilization` threshold (percent) is skipped while the 5-hour utilisation is above it. An
 * API key has no such limit, and a reading without a 5-hour window (a failed one keeps the last good
 * window until it resets) does not stop a job.
 */
export function utilizationSkip(usage: UsageSnapshot, threshold: number): string | undefined {
  // A failed reading keeps the last good 5-hour window until it resets.
  if (usage.auth !== 'subscription' || !usage.fiveHour) return undefined;
  const { utilization, resetsAt } = usage.fiveHour;
  if (utilization <= threshold) return undefined;
  return `skipped: the 5-hour utilisation is ${utilization}%, above skip_above_utilization ${threshold}%${resetsAt ? ` (the window resets at ${resetsAt})` : ''}`;
}

/** A job's threshold: its own, else cron's default; undefined when neither is set. */
export function utilizationThreshold(
  job: { readonly skipAboveUtilization: number | null },
  config: { readonly skip_above_utilization?: number | undefined },
): number | undefined {
  return job.skipAboveUtilization ?? config.skip_above_utilization;
}

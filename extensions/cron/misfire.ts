/**
 * What to do with fires that were missed (the daemon was down, or the process stalled):
 * - `once`: the missed fires within the grace period coalesce into one run, for the latest of them;
 * - `skip`: none of them runs;
 * - `all`: each one within the grace period runs, oldest first.
 * A fire later than the grace period never runs, except a one-shot job's (see planMissedOneShot).
 */
export type MisfirePolicy = 'once' | 'skip' | 'all';

export const MISFIRE_POLICIES: readonly MisfirePolicy[] = ['once', 'skip', 'all'];
export const DEFAULT_MISFIRE_POLICY: MisfirePolicy = 'once';
export const DEFAULT_MISFIRE_GRACE_MS = 10 * 60 * 1000;

export interface MissedPlan {
  /** Scheduled times to run, ascending. */
  run: number[];
  /** Scheduled times not to run, ascending. */
  skipped: number[];
}

export function isWithinGrace(scheduledFor: number, now: number, graceMs: number): boolean {
  return now - scheduledFor <= graceMs;
}

/** Splits missed fires (scheduled times, ascending) into those to run and those to skip. */
export function planMissed(policy: MisfirePolicy, missed: readonly number[], now: number, graceMs: number): MissedPlan {
  const withinGrace = missed.filter((time) => isWithinGrace(time, now, graceMs));
  let run: number[];
  switch (policy) {
    case 'skip':
      run = [];
      break;
    case 'all':
      run = withinGrace;
      break;
    case 'once':
      run = withinGrace.slice(-1);
      break;
  }
  const running = new Set(run);
  return { run, skipped: missed.filter((time) => !running.has(time)) };
}

/**
 * A missed one-shot job is never dropped for being late: with `once` or `all` it runs however late,
 * even beyond `graceMs` (the caller reports such a run as late, see isWithinGrace); with `skip` it
 * does not run and the caller records the skip. The decision depends on the policy alone; the times
 * are taken so that callers state the whole situation.
 */
export function planMissedOneShot(_runAt: number, _now: number, _graceMs: number, policy: MisfirePolicy): 'run' | 'skip' {
  return policy === 'skip' ? 'skip' : 'run';
}

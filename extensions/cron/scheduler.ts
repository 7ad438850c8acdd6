import type { Logger } from 'claude-ext/extension';
import { MAX_TIMER_MS, type Clock, type TimerHandle } from './clock.ts';
import { JobNotFoundError, type Job, type JobStore, type Run, type RunOutcome } from './job-store.ts';
import { isWithinGrace, planMissed, planMissedOneShot } from './misfire.ts';
import { CronScheduleError, latestFiresBetween, nextFireAfter } from './schedule.ts';

export type { RunOutcome } from './job-store.ts';

/**
 * Fires cron jobs from the store on one timer. The store is the only state: each wake-up reads the
 * jobs, handles every fire that is due, persists each job's next fire before running anything (so a
 * crash never repeats a run), and sleeps until the earliest next fire.
 *
 * A fire is due once its time has come (never early); the latest due fire of a job is on time
 * when it is at most DUE_WINDOW_MS late, and every other due fire was missed (the daemon was
 * down or the process stalled) and goes through the job's misfire policy. Each fire that does not
 * run is recorded in the job's runs, as `missed` (beyond the grace period) or `skipped`.
 */

export type MissedStatus = 'missed' | 'skipped';

export interface SchedulerOptions {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  /** Runs the job; `run` is its record in the store. A rejection counts as an error outcome. */
  fire: (job: Job, scheduledFor: number, run: Run) => Promise<RunOutcome>;
  /** Told about each fire that did not run. */
  onMissed?: (job: Job, scheduledFor: number, status: MissedStatus, detail: string) => void;
}

/** A run that was asked for: `run` as recorded now (running, or skipped), `finished` once it ends. */
export interface RunHandle {
  run: Run;
  finished: Promise<Run>;
}

export const DUE_WINDOW_MS = 1000;
/** A fire is never started early; this only absorbs timer rounding. */
export const EARLY_TOLERANCE_MS = 5;
/** The most missed fires of one job listed one by one after a downtime; older ones are summed up in one record. */
export const MAX_LISTED_MISSES = 100;
export const INTERRUPTED_DETAIL = 'interrupted by a daemon restart';
const RETRY_AFTER_FAILURE_MS = 5000;

export class Scheduler {
  private readonly store: JobStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly fire: SchedulerOptions['fire'];
  private readonly onMissed: SchedulerOptions['onMissed'];
  private state: 'new' | 'started' | 'stopped' = 'new';
  private timer: TimerHandle | undefined;
  /** Jobs with a run (or a sequence of catch-up runs) going, and when it ends. */
  private readonly busy = new Map<string, Promise<void>>();
  /** The run each busy job is running now. */
  private readonly currentRun = new Map<string, string>();
  /** Jobs (by id and version) whose stored schedule cannot be read; retried once they change. */
  private readonly unreadable = new Set<string>();

  constructor(options: SchedulerOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.fire = options.fire;
    this.onMissed = options.onMissed;
  }

  /**
   * Marks runs a crash left running as errors (this must be the only scheduler on the store), handles
   * the fires missed while down, and starts the timer.
   */
  start(): void {
    if (this.state !== 'new') throw new Error(`the cron scheduler was already ${this.state}`);
    this.state = 'started';
    const now = this.clock.now();
    for (const run of this.store.runningRuns()) {
      this.store.finishRun(run.id, { status: 'error', detail: INTERRUPTED_DETAIL }, now);
      this.logger.warn('cron run was interrupted by a daemon restart', { run: run.id, job: run.jobId });
    }
    this.tick();
  }

  /**
   * Cancels the timer; runs going now may finish and queued catch-up runs are recorded as skipped, so
   * close the store only after whenIdle().
   */
  stop(): void {
    this.state = 'stopped';
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Plans again after jobs changed (created, deleted, paused, resumed). */
  wake(): void {
    if (this.state === 'started') this.tick();
  }

  /** Runs a job now, unless a run of it is still going (then the request is recorded as skipped). */
  runNow(id: string): RunHandle {
    if (this.state === 'stopped') throw new Error('the cron scheduler is stopped');
    const job = this.store.get(id);
    if (!job) throw new JobNotFoundError(id);
    const now = this.clock.now();
    if (this.busy.has(id)) {
      const skipped = this.recordNotRun(job, now, 'skipped', `run now refused: ${this.stillGoing(id)}`);
      return { run: skipped, finished: Promise.resolve(skipped) };
    }
    const handle = this.beginRun(job, now);
    this.markBusy(id, handle.finished.then(() => undefined));
    return handle;
  }

  isRunning(jobId: string): boolean {
    return this.busy.has(jobId);
  }

  /** Resolves once no run is going or queued. */
  async whenIdle(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy.values()]);
  }

  private tick(): void {
    if (this.state !== 'started') return;
    this.timer?.cancel();
    this.timer = undefined;
    try {
      const now = this.clock.now();
      for (const job of this.store.list()) {
        const version = `${job.id}@${job.updatedAt}`;
        if (job.paused || job.done || this.unreadable.has(version)) continue;
        try {
          this.handleDue(job, now);
        } catch (error) {
          if (!(error instanceof CronScheduleError)) throw error;
          this.logger.error('cron job has an invalid schedule; it will not fire until it is changed', { job: job.id, name: job.name, error });
          this.unreadable.add(version);
          this.store.setNextRun(job.id, null);
        }
      }
      this.arm();
    } catch (error) {
      this.logger.error('cron scheduling failed; retrying', { error, retryInMs: RETRY_AFTER_FAILURE_MS });
      this.timer = this.clock.setTimer(() => this.tick(), RETRY_AFTER_FAILURE_MS);
    }
  }

  /** One timer, for the earliest next fire (re-armed when that is further away than a timer can wait). */
  private arm(): void {
    let earliest: number | undefined;
    for (const job of this.store.list()) {
      if (job.paused || job.done || job.nextRunAt === null) continue;
      if (earliest === undefined || job.nextRunAt < earliest) earliest = job.nextRunAt;
    }
    if (earliest === undefined) return;
    const delay = Math.min(Math.max(0, earliest - this.clock.now()), MAX_TIMER_MS);
    this.timer = this.clock.setTimer(() => this.tick(), delay);
  }

  private handleDue(job: Job, now: number): void {
    const next = job.nextRunAt ?? this.firstFire(job, now);
    if (next === null || next - now > EARLY_TOLERANCE_MS) return;
    if (job.schedule === null) this.handleOneShot(job, next, now);
    else this.handleRecurring(job, job.schedule, next, now);
  }

  /** The next fire of a job that has none recorded (e.g. written by an older process), persisted. */
  private firstFire(job: Job, now: number): number | null {
    const next = job.schedule === null ? job.runAt : (nextFireAfter(job.schedule, job.timezone, now) ?? null);
    if (next !== null) this.store.setNextRun(job.id, next);
    return next;
  }

  private handleRecurring(job: Job, schedule: string, next: number, now: number): void {
    // Fires are counted on from `next` itself: it may be a fire shifted out of a spring-forward gap,
    // which counting from just before it would not find again.
    const later = latestFiresBetween(schedule, job.timezone, next, now + EARLY_TOLERANCE_MS, MAX_LISTED_MISSES);
    const fires = later.omitted ? later.fires : [next, ...later.fires];
    const latest = fires.at(-1) ?? next;
    this.store.setNextRun(job.id, nextFireAfter(schedule, job.timezone, latest) ?? null);
    if (later.omitted) {
      const firstListed = iso(fires[0] ?? latest);
      this.recordNotRun(job, next, 'missed', `every fire from ${iso(next)} until ${firstListed} was missed (too many to list one by one)`);
    }
    const onTime = now - latest <= DUE_WINDOW_MS ? latest : undefined;
    this.dispatch(job, onTime === undefined ? fires : fires.slice(0, -1), onTime, now);
  }

  private handleOneShot(job: Job, runAt: number, now: number): void {
    this.store.markDone(job.id);
    const late = now - runAt;
    if (late <= DUE_WINDOW_MS) {
      this.runOrSkip(job, [runAt]);
      return;
    }
    if (planMissedOneShot(runAt, now, job.misfireGraceMs, job.misfire) === 'skip') {
      this.recordNotRun(job, runAt, 'skipped', `one-shot job skipped by misfire policy "skip": due ${iso(runAt)}, ${formatDuration(late)} late`);
      return;
    }
    const beyondGrace = !isWithinGrace(runAt, now, job.misfireGraceMs);
    this.logger.warn('cron one-shot job runs late', {
      job: job.id,
      name: job.name,
      due: iso(runAt),
      lateBy: formatDuration(late),
      ...(beyondGrace ? { beyondGraceOf: formatDuration(job.misfireGraceMs) } : {}),
    });
    this.runOrSkip(job, [runAt]);
  }

  /** Applies the misfire policy to `missed` and runs what it keeps, plus the on-time fire. */
  private dispatch(job: Job, missed: number[], onTime: number | undefined, now: number): void {
    const plan = planMissed(job.misfire, missed, now, job.misfireGraceMs);
    const coalesce = job.misfire === 'once' && onTime !== undefined;
    const toRun = coalesce ? [onTime] : onTime === undefined ? plan.run : [...plan.run, onTime];
    const notRun = coalesce ? [...plan.skipped, ...plan.run].sort((a, b) => a - b) : plan.skipped;
    const runTarget = toRun.at(-1);
    for (const time of notRun) {
      const late = formatDuration(now - time);
      if (!isWithinGrace(time, now, job.misfireGraceMs)) {
        this.recordNotRun(job, time, 'missed', `missed: due ${iso(time)}, ${late} late, beyond the misfire grace of ${formatDuration(job.misfireGraceMs)}`);
      } else if (job.misfire === 'once' && runTarget !== undefined) {
        this.recordNotRun(job, time, 'skipped', `coalesced into the run for ${iso(runTarget)} (misfire policy "once")`);
      } else {
        this.recordNotRun(job, time, 'skipped', `skipped by misfire policy "${job.misfire}": due ${iso(time)}, ${late} late`);
      }
    }
    if (missed.length > 0) {
      const catchUp = toRun.filter((time) => time !== onTime);
      this.logger.info('cron job missed fires', { job: job.id, name: job.name, policy: job.misfire, missed: missed.length, catchUp: catchUp.map(iso) });
    }
    this.runOrSkip(job, toRun);
  }

  /** Runs `times` one after another, unless the job is still running (then each is recorded as skipped). */
  private runOrSkip(job: Job, times: number[]): void {
    const [first, ...rest] = times;
    if (first === undefined) return;
    if (this.busy.has(job.id)) {
      for (const time of times) {
        this.logger.warn('cron fire skipped: the previous run is still going', { job: job.id, name: job.name, due: iso(time) });
        this.recordNotRun(job, time, 'skipped', `due ${iso(time)}: ${this.stillGoing(job.id)}`);
      }
      return;
    }
    const firstRun = this.beginRun(job, first);
    this.markBusy(job.id, this.runRest(job, firstRun.finished, rest));
  }

  private async runRest(job: Job, previous: Promise<Run>, rest: readonly number[]): Promise<void> {
    await previous;
    for (const time of rest) {
      const fresh = this.store.get(job.id);
      if (!fresh) return;
      if (this.state === 'stopped') {
        this.recordNotRun(fresh, time, 'skipped', `catch-up run for ${iso(time)} not started: the scheduler stopped`);
      } else if (fresh.paused) {
        this.recordNotRun(fresh, time, 'skipped', `catch-up run for ${iso(time)} not started: the job was paused`);
      } else {
        await this.beginRun(fresh, time).finished;
      }
    }
  }

  private beginRun(job: Job, scheduledFor: number): RunHandle {
    const run = this.store.startRun(job.id, scheduledFor, this.clock.now());
    this.currentRun.set(job.id, run.id);
    this.logger.info('cron job started', { job: job.id, name: job.name, user: job.user, run: run.id, scheduledFor: iso(scheduledFor) });
    return { run, finished: this.complete(job, run) };
  }

  private async complete(job: Job, run: Run): Promise<Run> {
    let outcome: RunOutcome;
    try {
      outcome = await this.fire(job, run.scheduledFor, run);
    } catch (error) {
      outcome = { status: 'error', detail: error instanceof Error ? error.message : String(error) };
    }
    const now = this.clock.now();
    let finished: Run | undefined;
    try {
      finished = this.store.finishRun(run.id, outcome, now);
    } catch (error) {
      this.logger.error('cron run result could not be recorded', { job: job.id, run: run.id, error });
    }
    if (this.currentRun.get(job.id) === run.id) this.currentRun.delete(job.id);
    const fields = { job: job.id, name: job.name, run: run.id, status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}) };
    if (outcome.status === 'error') this.logger.warn('cron job failed', fields);
    else this.logger.info('cron job finished', fields);
    return finished ?? { ...run, status: outcome.status, finishedAt: now, detail: outcome.detail ?? null };
  }

  private markBusy(jobId: string, running: Promise<void>): void {
    const entry: Promise<void> = running
      .catch((error: unknown) => this.logger.error('cron run failed unexpectedly', { job: jobId, error }))
      .finally(() => {
        if (this.busy.get(jobId) === entry) this.busy.delete(jobId);
      });
    this.busy.set(jobId, entry);
  }

  private stillGoing(jobId: string): string {
    const run = this.currentRun.get(jobId);
    return run ? `the previous run ${run} is still going` : 'the previous run is still going';
  }

  private recordNotRun(job: Job, scheduledFor: number, status: MissedStatus, detail: string): Run {
    const run = this.store.recordMissed(job.id, scheduledFor, status, detail);
    this.logger.debug(`cron fire ${status}`, { job: job.id, name: job.name, due: iso(scheduledFor), detail });
    if (this.onMissed) {
      try {
        this.onMissed(job, scheduledFor, status, detail);
      } catch (error) {
        this.logger.error('cron onMissed callback failed', { job: job.id, error });
      }
    }
    return run;
  }
}

function iso(time: number): string {
  return new Date(time).toISOString();
}

/** `45s`, `3m`, `2h 5m`, `1d 2h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(Math.max(0, ms) / 1000);
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.slice(0, 2).join(' ') || '0s';
}

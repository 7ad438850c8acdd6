/** Cron's bridge methods: names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';
import { MISFIRE_POLICIES } from './misfire.ts';

export const METHODS = {
  create: 'cron.create',
  list: 'cron.list',
  delete: 'cron.delete',
  pause: 'cron.pause',
  resume: 'cron.resume',
  runNow: 'cron.run_now',
  runs: 'cron.runs',
} as const;

/**
 * Every param is bounded here, so a call that could not be stored, or could be stored but never run,
 * is refused naming the field before anything is written.
 */
export const jobName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a job name is 1-64 letters, digits, dots, dashes or underscores');
/** A user id as the daemon takes it: a job of any other user could never start a session. */
export const userId = z
  .string()
  .min(1)
  .max(128)
  .refine((user) => !/[\0\n]/.test(user), 'a user id has no NUL or newline');
export const MAX_LABELS = 32;
export const labels = z
  .record(z.string().min(1).max(64), z.string().max(1000))
  .refine((all) => Object.keys(all).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);
export const jobPrompt = z.string().min(1).max(20_000);
export const schedule = z.string().min(1).max(200);
export const runAt = z.string().min(1).max(100);
export const timezoneName = z.string().min(1).max(100);
export const jobId = z.string().min(1).max(100);
/** A threshold of the subscription's 5-hour utilisation, in percent. */
export const utilizationPercent = z.number().min(0).max(100);

export const createParams = z.object({
  name: jobName,
  prompt: jobPrompt,
  schedule: schedule.optional(),
  run_at: runAt.optional(),
  session: z.enum(['new', 'reuse']).default('new'),
  /** The terminal's alone: a session's job never keeps its run sessions. */
  keep: z.boolean().optional(),
  timezone: timezoneName.optional(),
  misfire: z.enum(MISFIRE_POLICIES).optional(),
  user: userId.optional(),
  /** The terminal's alone: a session's job takes the session's frontend labels. */
  labels: labels.optional(),
  /** Skip a fire while the 5-hour utilisation is above this; from a session at most cron's default. */
  skip_above_utilization: utilizationPercent.optional(),
});
export const idParams = z.object({ id: jobId, user: userId.optional() });
export const listParams = z.object({ user: userId.optional() });
export const MAX_RUNS_PAGE = 200;
export const runsParams = idParams.extend({
  limit: z.number().int().min(1).max(MAX_RUNS_PAGE).default(20),
  /** How many of the newest runs to skip: the `next` of the page before. */
  offset: z.number().int().min(0).default(0),
});

/** A job as the bridge shows it. */
export interface JobView {
  readonly id: string;
  readonly name: string;
  readonly user: string;
  readonly prompt: string;
  readonly schedule: string | null;
  readonly runAt: string | null;
  readonly timezone: string;
  readonly session: 'new' | 'reuse';
  readonly paused: boolean;
  readonly source: string;
  /** The job's own threshold (percent); null: cron's default applies. */
  readonly skipAboveUtilization: number | null;
  readonly nextRunAt: string | null;
  readonly lastRunAt: string | null;
  readonly lastStatus: string | null;
  readonly lastCostUsd: number | null;
  readonly lastDurationMs: number | null;
  readonly lastError: string | null;
  readonly done: boolean;
  readonly recent?: ReadonlyArray<{ readonly status: string; readonly scheduledFor: number }>;
}

export interface DeleteResult {
  readonly deleted: string;
}

export interface RunNowResult {
  readonly run: string;
  readonly status: string;
}

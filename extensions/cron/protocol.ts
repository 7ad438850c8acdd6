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
} as const;



export const jobName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a job name is 1-64 letters, digits, dots, dashes or underscores');
export const labels = z.record(z.string(), z.string());

export const createParams = z.object({
  name: jobName,
  prompt: z.string().min(1).max(20_000),
  schedule: z.string().min(1).optional(),
  run_at: z.string().min(1).optional(),
  session: z.enum(['new', 'reuse']).default('new'),
  keep: z.boolean().optional(),
  timezone: z.string().optional(),
  misfire: z.enum(MISFIRE_POLICIES).optional(),
  user: z.string().min(1).optional(),
  labels: labels.optional(),
});
export const idParams = z.object({ id: z.string().min(1), user: z.string().min(1).optional() });
export const listParams = z.object({ user: z.string().min(1).optional() });

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

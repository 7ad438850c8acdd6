import path from 'node:path';
import { z } from 'zod';
import { RpcError, RpcErrorCode, duration, DEFAULT_USER, type BridgeCall, type Extension } from 'claude-ext/extension';
import { systemClock } from './clock.ts';
import { DEFAULT_KEEP_RUNS, JobNotFoundError, JobStore, type ConfigJobInput, type Job } from './job-store.ts';
import { runJob } from './job-runner.ts';
import { MISFIRE_POLICIES } from './misfire.ts';
import { createParams, idParams, jobName, labels, listParams, METHODS, runsParams, userId, utilizationPercent, type JobView } from './protocol.ts';
import { checkMinInterval, DEFAULT_MAX_JOBS_PER_USER, DEFAULT_MIN_INTERVAL_MS } from './quotas.ts';
import { defaultTimezone, isValidTimezone, parseCron, parseRunAt } from './schedule.ts';
import { Scheduler } from './scheduler.ts';
import { tools } from './tools.ts';
import { utilizationSkip, utilizationThreshold } from './usage-skip.ts';

const DAY_MS = 24 * 3_600_000;

const timezone = z.string().refine(isValidTimezone, 'not a known IANA timezone (e.g. Europe/Berlin)');

const configJob = z.strictObject({
  name: jobName,
  schedule: z.string().min(1),
  prompt: z.string().min(1),
  /** Whose job it is (whose sessions it runs in). */
  user: userId.default(DEFAULT_USER),
  timezone: timezone.optional(),
  session: z.enum(['new', 'reuse']).default('new'),
  keep: z.boolean().default(false),
  misfire: z.enum(MISFIRE_POLICIES).optional(),
  misfire_grace: duration.optional(),
  /** Skips a fire while the subscription's 5-hour utilisation (percent) is above this. */
  skip_above_utilization: utilizationPercent.optional(),
  /** Where results go, e.g. { frontend: telegram, chat: "123456" }. */
  labels: labels.default({}),
});

const configSchema = z.strictObject({
  timezone: timezone.default(defaultTimezone()),
  misfire: z.enum(MISFIRE_POLICIES).default('once'),
  misfire_grace: duration.default(10 * 60_000),
  /** The least time between two fires of a job made by a session (0: no limit). */
  min_interval: duration.refine((ms) => ms <= DAY_MS, 'at most 1d').default(DEFAULT_MIN_INTERVAL_MS),
  /** How many jobs that may still fire one user's sessions may have made. */
  max_jobs_per_user: z.number().int().min(0).max(10_000).default(DEFAULT_MAX_JOBS_PER_USER),
  /** How many runs of each job are kept. */
  keep_runs: z.number().int().min(1).max(100_000).default(DEFAULT_KEEP_RUNS),
  /** The threshold of every job without its own skip_above_utilization. */
  skip_above_utilization: utilizationPercent.optional(),
  jobs: z.array(configJob).default([]),
});

type CronConfig = z.output<typeof configSchema>;

export default (): Extension<CronConfig> => {
  let scheduler: Scheduler | undefined;
  let store: JobStore | undefined;
  let config: CronConfig;
  return {
    name: 'cron',
    description: 'Prompts that run on a schedule',
    configSchema,
    async start(ctx) {
      config = ctx.config;
      const jobs = JobStore.open(path.join(ctx.dataDir, 'jobs.sqlite'), { keepRuns: config.keep_runs });
      store = jobs;
      syncConfigJobs(jobs, config);
      const running = new Scheduler({
        store: jobs,
        clock: systemClock,
        logger: ctx.logger,
        fire: async (job, scheduledFor) => {
          ctx.record('cron_fired', { job: job.id, name: job.name, user: job.user, scheduled_for: new Date(scheduledFor).toISOString() });
          const threshold = utilizationThreshold(job, config);
          const skip = threshold === undefined ? undefined : utilizationSkip(await ctx.usage.current(), threshold);
          if (skip) {
            ctx.logger.warn(`cron job ${job.name} (${job.id}) ${skip}`);
            ctx.record('cron_result', { job: job.id, status: 'skipped', detail: skip, cost_usd: 0, duration_ms: 0, session: null });
            return { status: 'skipped', detail: skip, costUsd: 0 };
          }
          const outcome = await runJob(ctx, jobs, job);
          ctx.record('cron_result', { job: job.id, status: outcome.status, cost_usd: outcome.costUsd ?? 0, duration_ms: outcome.durationMs ?? 0, session: outcome.sessionId ?? null });
          return outcome;
        },
        onMissed: (job, scheduledFor, status, detail) => {
          ctx.logger.warn(`cron job ${job.name} (${job.id}) ${status} its fire of ${new Date(scheduledFor).toISOString()}: ${detail}`);
          ctx.record('cron_missed', { job: job.id, scheduled_for: new Date(scheduledFor).toISOString(), status, detail });
        },
      });
      scheduler = running;
      running.start();
      ctx.track({ dispose: () => running.stop() });

      const ownJob = (call: BridgeCall, id: string, requestedUser?: string): Job => {
        const job = jobs.get(id);
        const user = call.visibleUser(requestedUser);
        if (!job || (user !== undefined && job.user !== user)) throw new JobNotFoundError(id, user);
        return job;
      };

      ctx.addBridgeMethod(METHODS.create, { params: createParams, access: 'any' }, (p, call) => {
        const user = call.actingUser(p.user);
        const fromSession = call.session !== undefined;
        if (fromSession && p.keep === true) throw invalid("keep: only the terminal (cron add --keep) or config.yaml may keep a job's run sessions; leave keep out");
        if (fromSession && p.labels !== undefined) throw invalid("labels: only the terminal may set a job's labels; a job made by a session takes the session's frontend and chat");
        const ceiling = config.skip_above_utilization;
        if (fromSession && p.skip_above_utilization !== undefined && ceiling !== undefined && p.skip_above_utilization > ceiling) {
          throw invalid(`skip_above_utilization ${p.skip_above_utilization}: a job made by a session may hold back sooner than cron's ${ceiling}%, not later; give at most ${ceiling} or leave it out`);
        }
        const tz = p.timezone ?? config.timezone;
        if (!isValidTimezone(tz)) throw invalid(`timezone "${tz}" is not a known IANA timezone`);
        if ((p.schedule === undefined) === (p.run_at === undefined)) throw invalid('give either schedule (a cron expression) or run_at (an ISO time or +20m)');
        let runAt: number | undefined;
        if (p.schedule !== undefined) {
          const check = parseCron(p.schedule, tz);
          if (!check.ok) throw invalid(`schedule "${p.schedule}": ${check.reason}`);
          if (fromSession) checkMinInterval(p.schedule, tz, config.min_interval, Date.now());
        } else {
          const parsed = parseRunAt(p.run_at ?? '', Date.now(), tz);
          if (!parsed.ok) throw invalid(`run_at "${p.run_at}": ${parsed.reason}`);
          runAt = parsed.at;
        }
        const job = jobs.create(
          {
            name: p.name,
            user,
            prompt: p.prompt,
            ...(p.schedule !== undefined ? { schedule: p.schedule } : {}),
            ...(runAt !== undefined ? { runAt } : {}),
            timezone: tz,
            sessionMode: p.session,
            keep: p.keep ?? false,
            misfire: p.misfire ?? config.misfire,
            misfireGraceMs: config.misfire_grace,
            source: call.session ? 'session' : 'cli',
            labels: call.session ? frontendLabels(call.session.labels) : (p.labels ?? {}),
            skipAboveUtilization: p.skip_above_utilization ?? null,
          },
          // Sessions are limited; the terminal is not.
          call.session ? { maxJobs: config.max_jobs_per_user } : undefined,
        );
        running.wake();
        ctx.record('cron_created', { job: job.id, name: job.name, user });
        return describe(job);
      });

      ctx.addBridgeMethod(METHODS.list, { params: listParams, access: 'any' }, (p, call): JobView[] => {
        const user = call.visibleUser(p.user);
        return jobs.list(user === undefined ? {} : { user }).map((job) => ({ ...describe(job), recent: jobs.runs(job.id, 5) }));
      });

      ctx.addBridgeMethod(METHODS.delete, { params: idParams, access: 'any' }, (p, call) => {
        const job = ownJob(call, p.id, p.user);
        jobs.delete(job.id);
        running.wake();
        ctx.record('cron_deleted', { job: job.id });
        return { deleted: job.id };
      });

      for (const paused of [true, false]) {
        ctx.addBridgeMethod(paused ? METHODS.pause : METHODS.resume, { params: idParams, access: 'any' }, (p, call) => {
          const job = ownJob(call, p.id, p.user);
          const updated = jobs.setPaused(job.id, paused);
          running.wake();
          return describe(updated);
        });
      }

      ctx.addBridgeMethod(METHODS.runNow, { params: idParams, access: 'any' }, (p, call) => {
        const job = ownJob(call, p.id, p.user);
        const handle = running.runNow(job.id);
        return { run: handle.run.id, status: handle.run.status };
      });

      ctx.addBridgeMethod(METHODS.runs, { params: runsParams, access: 'any' }, (p, call) => {
        const job = ownJob(call, p.id, p.user);
        const page = jobs.runs(job.id, p.limit + 1, p.offset);
        return { runs: page.slice(0, p.limit), next: page.length > p.limit ? p.offset + p.limit : null };
      });

      ctx.addTools({ server: 'cron', tools });
    },
    reconfigure(next) {
      config = next;
      store?.setKeepRuns(next.keep_runs);
      if (store) syncConfigJobs(store, next);
      scheduler?.wake();
    },
    async stop() {
      scheduler?.stop();
      await scheduler?.whenIdle();
      store?.close();
    },
    healthCheck() {
      const count = store?.list().length ?? 0;
      return { status: 'ok', detail: `${count} job${count === 1 ? '' : 's'}` };
    },
  };
};

/** Jobs from config are upserted by name for each user; jobs removed from config are deleted. */
function syncConfigJobs(store: JobStore, config: CronConfig): void {
  const byUser = new Map<string, ConfigJobInput[]>();
  for (const job of store.list()) if (job.source === 'config') byUser.set(job.user, []);
  for (const job of config.jobs) {
    const list = byUser.get(job.user) ?? [];
    list.push({
      name: job.name,
      prompt: job.prompt,
      schedule: job.schedule,
      timezone: job.timezone ?? config.timezone,
      sessionMode: job.session,
      keep: job.keep,
      misfire: job.misfire ?? config.misfire,
      misfireGraceMs: job.misfire_grace ?? config.misfire_grace,
      labels: job.labels,
      skipAboveUtilization: job.skip_above_utilization ?? null,
    });
    byUser.set(job.user, list);
  }
  for (const [user, jobs] of byUser) store.upsertConfigJobs(user, jobs);
}

/** The labels that route results to the chat a job was created from. */
function frontendLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const { frontend, chat } = labels;
  return { ...(frontend ? { frontend } : {}), ...(chat ? { chat } : {}) };
}

function describe(job: Job): JobView {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: job.id,
    name: job.name,
    user: job.user,
    prompt: job.prompt,
    schedule: job.schedule,
    runAt: iso(job.runAt),
    timezone: job.timezone,
    session: job.sessionMode,
    paused: job.paused,
    source: job.source,
    skipAboveUtilization: job.skipAboveUtilization,
    nextRunAt: iso(job.nextRunAt),
    lastRunAt: iso(job.lastRunAt),
    lastStatus: job.lastStatus,
    lastCostUsd: job.lastCostUsd,
    lastDurationMs: job.lastDurationMs,
    lastError: job.lastError,
    done: job.done,
  };
}

function invalid(message: string): RpcError {
  return new RpcError(RpcErrorCode.InvalidParams, message);
}


import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { ensurePrivateDir, newId } from 'claude-ext/extension';
import { DEFAULT_MISFIRE_GRACE_MS, DEFAULT_MISFIRE_POLICY, MISFIRE_POLICIES, type MisfirePolicy } from './misfire.ts';
import { defaultTimezone, isValidTimezone, nextFireAfter, parseCron } from './schedule.ts';

/**
 * Cron jobs and their runs in SQLite (WAL, so several processes may share the file). Every change is
 * one IMMEDIATE transaction: it takes the write lock before reading, so two writers queue behind
 * busy_timeout instead of failing or overwriting each other. Times are epoch milliseconds.
 */

export type SessionMode = 'new' | 'reuse';
export type JobSource = 'config' | 'session' | 'cli';
export type RunStatus = 'running' | 'success' | 'error' | 'skipped' | 'missed' | 'stopped';
/** Where a job's results go and anything else its owner wants to find again (e.g. which chat). */
export type JobLabels = Record<string, string>;

const SESSION_MODES: readonly SessionMode[] = ['new', 'reuse'];
const JOB_SOURCES: readonly JobSource[] = ['config', 'session', 'cli'];
const RUN_STATUSES: readonly RunStatus[] = ['running', 'success', 'error', 'skipped', 'missed', 'stopped'];

export interface Job {
  id: string;
  name: string;
  user: string;
  prompt: string;
  /** A cron expression, for a recurring job; null for a one-shot job. */
  schedule: string | null;
  /** When a one-shot job runs; null for a recurring job. */
  runAt: number | null;
  timezone: string;
  sessionMode: SessionMode;
  /** Keep the session after the run instead of deleting it. */
  keep: boolean;
  misfire: MisfirePolicy;
  misfireGraceMs: number;
  paused: boolean;
  source: JobSource;
  labels: JobLabels;
  /** Skip a fire while the subscription's 5-hour utilisation (percent) is above this; null: cron's default. */
  skipAboveUtilization: number | null;
  /** The session a `reuse` job runs in. */
  reuseSessionId: string | null;
  createdAt: number;
  updatedAt: number;
  /** The next fire not yet handled; null when paused, finished or never firing again. */
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastStatus: RunStatus | null;
  lastCostUsd: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  /** A one-shot job that has fired. */
  done: boolean;
}

export interface Run {
  id: string;
  jobId: string;
  scheduledFor: number;
  /** Null for a fire that did not run (skipped or missed). */
  startedAt: number | null;
  finishedAt: number | null;
  status: RunStatus;
  costUsd: number | null;
  durationMs: number | null;
  sessionId: string | null;
  promptId: string | null;
  detail: string | null;
}

export interface NewJob {
  name: string;
  user: string;
  prompt: string;
  /** Exactly one of schedule and runAt. */
  schedule?: string;
  runAt?: number;
  /** Default: the machine's timezone. */
  timezone?: string;
  sessionMode?: SessionMode;
  keep?: boolean;
  misfire?: MisfirePolicy;
  misfireGraceMs?: number;
  paused?: boolean;
  /** Default: 'cli'. */
  source?: JobSource;
  labels?: JobLabels;
  /** Default: none (cron's default applies). */
  skipAboveUtilization?: number | null;
}

/** A recurring job declared in the config file; absent settings take their defaults. */
export interface ConfigJobInput {
  name: string;
  prompt: string;
  schedule: string;
  timezone?: string;
  sessionMode?: SessionMode;
  keep?: boolean;
  misfire?: MisfirePolicy;
  misfireGraceMs?: number;
  labels?: JobLabels;
  skipAboveUtilization?: number | null;
}

export interface ConfigSyncResult {
  created: string[];
  updated: string[];
  removed: string[];
}

/** `skipped`: the run was started but held back before its prompt (the subscription's usage was too high). */
export type RunOutcomeStatus = 'success' | 'error' | 'stopped' | 'skipped';

export interface RunOutcome {
  status: RunOutcomeStatus;
  costUsd?: number;
  /** Default: from the run's start to its finish. */
  durationMs?: number;
  sessionId?: string;
  promptId?: string;
  detail?: string;
}

export interface JobStoreOptions {
  /** The clock for created/updated times and recorded misses. */
  now?: () => number;
  busyTimeoutMs?: number;
  /** How many runs of each job are kept (the newest); older ones are removed as new ones finish. */
  keepRuns?: number;
}

/** A limit on how many jobs one user may have from one source (jobs that will not fire again do not count). */
export interface JobQuota {
  readonly maxJobs: number;
}

/** Room for the longest record one downtime leaves: the scheduler lists 100 missed fires, sums up older ones in one, and runs one. */
export const DEFAULT_KEEP_RUNS = 200;

export class JobValidationError extends Error {
  readonly code = 'cron_invalid_job';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid cron job ${field}: ${reason}`);
    this.name = 'JobValidationError';
  }
}

export class DuplicateJobError extends Error {
  readonly code = 'cron_duplicate_job';
  constructor(
    readonly user: string,
    readonly jobName: string,
    readonly existingSource: JobSource,
  ) {
    super(`user "${user}" already has a cron job named "${jobName}" (from ${existingSource}); choose another name or delete that job first`);
    this.name = 'DuplicateJobError';
  }
}

export class JobLimitError extends Error {
  readonly code = 'cron_job_limit';
  constructor(
    readonly user: string,
    readonly limit: number,
  ) {
    super(
      `${user} already has ${limit} cron job${limit === 1 ? '' : 's'} made by sessions, the most allowed (cron.max_jobs_per_user); ` +
        'delete one first (cron_list shows them, cron_delete removes one)',
    );
    this.name = 'JobLimitError';
  }
}

export class JobNotFoundError extends Error {
  readonly code = 'cron_job_not_found';
  constructor(
    readonly jobId: string,
    /** Whose jobs were searched, when not everyone's. */
    readonly user?: string,
  ) {
    super(`no cron job "${jobId}"${user !== undefined ? ` of ${user}` : ''}`);
    this.name = 'JobNotFoundError';
  }
}

export class JobStoreFormatError extends Error {
  readonly code = 'cron_store_format';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`cannot use the cron database ${file}: ${reason}`);
    this.name = 'JobStoreFormatError';
  }
}

const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  "user" TEXT NOT NULL,
  prompt TEXT NOT NULL,
  schedule TEXT,
  run_at INTEGER,
  timezone TEXT NOT NULL,
  session_mode TEXT NOT NULL CHECK (session_mode IN ('new', 'reuse')),
  keep INTEGER NOT NULL DEFAULT 0,
  misfire TEXT NOT NULL CHECK (misfire IN ('once', 'skip', 'all')),
  misfire_grace_ms INTEGER NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL CHECK (source IN ('config', 'session', 'cli')),
  labels TEXT NOT NULL DEFAULT '{}',
  skip_above_utilization REAL,
  reuse_session_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_run_at INTEGER,
  last_run_at INTEGER,
  last_status TEXT,
  last_cost_usd REAL,
  last_duration_ms INTEGER,
  last_error TEXT,
  done INTEGER NOT NULL DEFAULT 0,
  UNIQUE ("user", name),
  CHECK ((schedule IS NULL) <> (run_at IS NULL))
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  scheduled_for INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('running', 'success', 'error', 'skipped', 'missed', 'stopped')),
  cost_usd REAL,
  duration_ms INTEGER,
  session_id TEXT,
  prompt_id TEXT,
  detail TEXT
);
CREATE INDEX runs_by_job ON runs (job_id, scheduled_for);
CREATE INDEX runs_by_status ON runs (status);
`;

interface JobRow {
  id: string;
  name: string;
  user: string;
  prompt: string;
  schedule: string | null;
  run_at: number | null;
  timezone: string;
  session_mode: string;
  keep: number;
  misfire: string;
  misfire_grace_ms: number;
  paused: number;
  source: string;
  labels: string;
  skip_above_utilization: number | null;
  reuse_session_id: string | null;
  created_at: number;
  updated_at: number;
  next_run_at: number | null;
  last_run_at: number | null;
  last_status: string | null;
  last_cost_usd: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  done: number;
}

interface RunRow {
  id: string;
  job_id: string;
  scheduled_for: number;
  started_at: number | null;
  finished_at: number | null;
  status: string;
  cost_usd: number | null;
  duration_ms: number | null;
  session_id: string | null;
  prompt_id: string | null;
  detail: string | null;
}

/** A job's settings, validated and with defaults applied. */
type JobSettings = Pick<Job, 'name' | 'user' | 'prompt' | 'schedule' | 'runAt' | 'timezone' | 'sessionMode' | 'keep' | 'misfire' | 'misfireGraceMs' | 'labels' | 'skipAboveUtilization'>;

const MAX_PROMPT_CHARS = 100_000;

const labelsSchema = z.record(z.string().min(1).max(64), z.string().max(1000));

const newJobSchema = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  user: z.string().trim().min(1, 'must not be empty'),
  prompt: z.string().trim().min(1, 'must not be empty').max(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`),
  schedule: z.string().optional(),
  runAt: z.number().int('must be whole milliseconds').optional(),
  timezone: z.string().optional(),
  sessionMode: z.enum(SESSION_MODES).optional(),
  keep: z.boolean().optional(),
  misfire: z.enum(MISFIRE_POLICIES).optional(),
  misfireGraceMs: z.number().int('must be whole milliseconds').min(0, 'must not be negative').optional(),
  paused: z.boolean().optional(),
  source: z.enum(JOB_SOURCES).optional(),
  labels: labelsSchema.optional(),
  skipAboveUtilization: z.number().min(0, 'must be a percentage from 0 to 100').max(100, 'must be a percentage from 0 to 100').nullable().optional(),
});

function firstIssue(error: z.ZodError): JobValidationError {
  const issue = error.issues[0];
  return new JobValidationError(issue?.path.join('.') || 'input', issue?.message ?? 'is invalid');
}

/** Validates a job's settings (a one-shot's time must be after `now`) and applies the defaults. */
function settingsFrom(input: NewJob, now: number): JobSettings {
  const parsed = newJobSchema.safeParse(input);
  if (!parsed.success) throw firstIssue(parsed.error);
  const job = parsed.data;
  const timezone = job.timezone ?? defaultTimezone();
  if (!isValidTimezone(timezone)) throw new JobValidationError('timezone', `unknown timezone "${timezone}"; use an IANA name such as Europe/Berlin or UTC`);
  if ((job.schedule === undefined) === (job.runAt === undefined)) {
    throw new JobValidationError('schedule', 'give either a cron schedule (recurring) or run_at (once), not both or neither');
  }
  if (job.schedule !== undefined) {
    const check = parseCron(job.schedule, timezone);
    if (!check.ok) throw new JobValidationError('schedule', check.reason);
  }
  if (job.runAt !== undefined && job.runAt <= now) {
    throw new JobValidationError('runAt', `${new Date(job.runAt).toISOString()} is in the past (now is ${new Date(now).toISOString()})`);
  }
  return {
    name: job.name,
    user: job.user,
    prompt: job.prompt,
    schedule: job.schedule?.trim() ?? null,
    runAt: job.runAt ?? null,
    timezone,
    sessionMode: job.sessionMode ?? 'new',
    keep: job.keep ?? false,
    misfire: job.misfire ?? DEFAULT_MISFIRE_POLICY,
    misfireGraceMs: job.misfireGraceMs ?? DEFAULT_MISFIRE_GRACE_MS,
    labels: job.labels ?? {},
    skipAboveUtilization: job.skipAboveUtilization ?? null,
  };
}

function firstFire(settings: Pick<JobSettings, 'schedule' | 'runAt' | 'timezone'>, now: number): number | null {
  if (settings.schedule !== null) return nextFireAfter(settings.schedule, settings.timezone, now) ?? null;
  return settings.runAt;
}

/** Labels as stored: JSON with sorted keys, so equal labels are equal text. */
function labelsJson(labels: JobLabels): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function checkKeepRuns(keep: number): number {
  if (!Number.isSafeInteger(keep) || keep < 1) throw new RangeError(`cron: the runs kept per job must be a whole number ≥ 1, not ${keep}`);
  return keep;
}

function member<T extends string>(allowed: readonly T[], value: string, column: string): T {
  const found = allowed.find((item) => item === value);
  if (found === undefined) throw new Error(`cron database: ${column} holds "${value}", expected one of ${allowed.join(', ')}`);
  return found;
}

/** Stored labels; unreadable ones (edited by hand) read as none rather than hiding the job. */
function parseLabels(json: string): JobLabels {
  try {
    const labels = labelsSchema.safeParse(JSON.parse(json));
    return labels.success ? labels.data : {};
  } catch {
    return {};
  }
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    name: row.name,
    user: row.user,
    prompt: row.prompt,
    schedule: row.schedule,
    runAt: row.run_at,
    timezone: row.timezone,
    sessionMode: member(SESSION_MODES, row.session_mode, 'jobs.session_mode'),
    keep: row.keep !== 0,
    misfire: member(MISFIRE_POLICIES, row.misfire, 'jobs.misfire'),
    misfireGraceMs: row.misfire_grace_ms,
    paused: row.paused !== 0,
    source: member(JOB_SOURCES, row.source, 'jobs.source'),
    labels: parseLabels(row.labels),
    skipAboveUtilization: row.skip_above_utilization,
    reuseSessionId: row.reuse_session_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
    lastStatus: row.last_status === null ? null : member(RUN_STATUSES, row.last_status, 'jobs.last_status'),
    lastCostUsd: row.last_cost_usd,
    lastDurationMs: row.last_duration_ms,
    lastError: row.last_error,
    done: row.done !== 0,
  };
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    jobId: row.job_id,
    scheduledFor: row.scheduled_for,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: member(RUN_STATUSES, row.status, 'runs.status'),
    costUsd: row.cost_usd,
    durationMs: row.duration_ms,
    sessionId: row.session_id,
    promptId: row.prompt_id,
    detail: row.detail,
  };
}

/** The job columns a caller's settings decide. */
function settingsParams(settings: JobSettings) {
  return {
    name: settings.name,
    user: settings.user,
    prompt: settings.prompt,
    schedule: settings.schedule,
    run_at: settings.runAt,
    timezone: settings.timezone,
    session_mode: settings.sessionMode,
    keep: settings.keep ? 1 : 0,
    misfire: settings.misfire,
    misfire_grace_ms: settings.misfireGraceMs,
    labels: labelsJson(settings.labels),
    skip_above_utilization: settings.skipAboveUtilization,
  };
}

function sameSettings(job: Job, settings: JobSettings): boolean {
  return (
    job.prompt === settings.prompt &&
    job.schedule === settings.schedule &&
    job.runAt === settings.runAt &&
    job.timezone === settings.timezone &&
    job.sessionMode === settings.sessionMode &&
    job.keep === settings.keep &&
    job.misfire === settings.misfire &&
    job.misfireGraceMs === settings.misfireGraceMs &&
    labelsJson(job.labels) === labelsJson(settings.labels) &&
    job.skipAboveUtilization === settings.skipAboveUtilization
  );
}

/** Creates the schema in a new database (version 0) or upgrades a version-1 one in place; refuses other versions. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true });
    if (version === SCHEMA_VERSION) return;
    if (version === 0) db.exec(SCHEMA);
    else if (version === 1) db.exec('ALTER TABLE jobs ADD COLUMN skip_above_utilization REAL');
    else throw new JobStoreFormatError(file, `schema version ${String(version)} is not ${SCHEMA_VERSION}; it was written by another version of claude-ext`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

export class JobStore {
  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
    private keepRuns: number,
  ) {}

  /** Opens (creating when needed, 0600) the database at `file`. */
  static open(file: string, options: JobStoreOptions = {}): JobStore {
    const keepRuns = checkKeepRuns(options.keepRuns ?? DEFAULT_KEEP_RUNS);
    ensurePrivateDir(path.dirname(file));
    const db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      fs.chmodSync(file, 0o600);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
    } catch (error) {
      db.close();
      throw error;
    }
    return new JobStore(db, options.now ?? Date.now, keepRuns);
  }

  /** How many runs of each job to keep from now on; applied as runs finish. */
  setKeepRuns(keep: number): void {
    this.keepRuns = checkKeepRuns(keep);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Creates a job; throws JobValidationError, DuplicateJobError, or JobLimitError when `quota` is given
   * and the user already has that many jobs from the same source that may still fire.
   */
  create(input: NewJob, quota?: JobQuota): Job {
    const now = this.now();
    const settings = settingsFrom(input, now);
    const paused = input.paused ?? false;
    const source = input.source ?? 'cli';
    const id = newId('j');
    this.db
      .transaction(() => {
        this.refuseDuplicate(settings.user, settings.name);
        if (quota !== undefined && this.countActive(settings.user, source) >= quota.maxJobs) throw new JobLimitError(settings.user, quota.maxJobs);
        this.insertJob(id, settings, source, paused, now);
      })
      .immediate();
    return this.mustGet(id);
  }

  /**
   * Makes `user`'s config jobs match `jobs`, by name: new ones are created, changed ones updated (a
   * changed schedule or timezone moves the next fire), and config jobs no longer listed are deleted.
   * Jobs from other sources are left alone; a config job may not take the name of one of them.
   */
  upsertConfigJobs(user: string, jobs: readonly ConfigJobInput[]): ConfigSyncResult {
    const now = this.now();
    const wanted = new Map<string, JobSettings>();
    for (const job of jobs) {
      if (wanted.has(job.name)) throw new JobValidationError('name', `"${job.name}" is declared twice for user "${user}"`);
      wanted.set(job.name, settingsFrom({ ...job, user }, now));
    }
    const result: ConfigSyncResult = { created: [], updated: [], removed: [] };
    this.db
      .transaction(() => {
        const existing = new Map(this.listRows(user).map((row) => [row.name, toJob(row)]));
        for (const [name, settings] of wanted) {
          const job = existing.get(name);
          if (!job) {
            this.insertJob(newId('j'), settings, 'config', false, now);
            result.created.push(name);
          } else if (job.source !== 'config') {
            throw new DuplicateJobError(user, name, job.source);
          } else if (!sameSettings(job, settings)) {
            const timingChanged = job.schedule !== settings.schedule || job.timezone !== settings.timezone;
            const nextRunAt = !timingChanged ? job.nextRunAt : job.paused ? null : firstFire(settings, now);
            this.db
              .prepare(
                `UPDATE jobs SET prompt = @prompt, schedule = @schedule, run_at = @run_at, timezone = @timezone,
                   session_mode = @session_mode, keep = @keep, misfire = @misfire, misfire_grace_ms = @misfire_grace_ms,
                   labels = @labels, skip_above_utilization = @skip_above_utilization, next_run_at = @next_run_at, updated_at = @now WHERE id = @id`,
              )
              .run({ ...settingsParams(settings), next_run_at: nextRunAt, now, id: job.id });
            result.updated.push(name);
          }
        }
        for (const job of existing.values()) {
          if (job.source === 'config' && !wanted.has(job.name)) {
            this.db.prepare('DELETE FROM jobs WHERE id = ?').run(job.id);
            result.removed.push(job.name);
          }
        }
      })
      .immediate();
    return result;
  }

  get(id: string): Job | undefined {
    const row = this.db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?').get(id);
    return row && toJob(row);
  }

  /** Jobs, by user and name. */
  list(filter: { user?: string } = {}): Job[] {
    return this.listRows(filter.user).map(toJob);
  }

  /** Deletes a job and its runs; false when there was none. */
  delete(id: string): boolean {
    return this.db.transaction(() => this.db.prepare('DELETE FROM jobs WHERE id = ?').run(id).changes > 0).immediate();
  }

  /** Pauses or resumes a job. A resumed job's next fire is the first after now: fires while paused are not missed. */
  setPaused(id: string, paused: boolean): Job {
    const now = this.now();
    this.db
      .transaction(() => {
        const job = this.mustGet(id);
        if (job.paused === paused) return;
        const nextRunAt = paused || job.done ? null : firstFire(job, now);
        this.db
          .prepare('UPDATE jobs SET paused = ?, next_run_at = ?, updated_at = ? WHERE id = ?')
          .run(paused ? 1 : 0, nextRunAt, now, id);
      })
      .immediate();
    return this.mustGet(id);
  }

  setNextRun(id: string, at: number | null): void {
    this.updateJob(id, 'UPDATE jobs SET next_run_at = ? WHERE id = ?', at, id);
  }

  /** Marks a one-shot job as fired: it will not fire again. */
  markDone(id: string): void {
    this.updateJob(id, 'UPDATE jobs SET done = 1, next_run_at = NULL WHERE id = ?', id);
  }

  setReuseSession(id: string, sessionId: string | null): void {
    this.updateJob(id, 'UPDATE jobs SET reuse_session_id = ? WHERE id = ?', sessionId, id);
  }

  /** Records that a run of `jobId` started. */
  startRun(jobId: string, scheduledFor: number, now: number): Run {
    const id = newId('r');
    this.db
      .transaction(() => {
        this.mustGet(jobId);
        this.db
          .prepare("INSERT INTO runs (id, job_id, scheduled_for, started_at, status) VALUES (?, ?, ?, ?, 'running')")
          .run(id, jobId, scheduledFor, now);
        this.db.prepare("UPDATE jobs SET last_run_at = ?, last_status = 'running' WHERE id = ?").run(now, jobId);
      })
      .immediate();
    return this.mustGetRun(id);
  }

  /**
   * Records how a running run ended, on the run and on its job's last_* fields. Undefined when the run
   * is gone (its job was deleted); a run already finished is returned unchanged.
   */
  finishRun(runId: string, outcome: RunOutcome, now: number): Run | undefined {
    return this.db
      .transaction(() => {
        const run = this.getRun(runId);
        if (!run || run.status !== 'running') return run;
        const durationMs = outcome.durationMs ?? (run.startedAt === null ? null : Math.max(0, now - run.startedAt));
        const detail = outcome.detail ?? null;
        this.db
          .prepare(
            `UPDATE runs SET finished_at = ?, status = ?, cost_usd = ?, duration_ms = ?, session_id = ?, prompt_id = ?, detail = ?
             WHERE id = ?`,
          )
          .run(now, outcome.status, outcome.costUsd ?? null, durationMs, outcome.sessionId ?? null, outcome.promptId ?? null, detail, runId);
        this.db
          .prepare('UPDATE jobs SET last_status = ?, last_cost_usd = ?, last_duration_ms = ?, last_error = ? WHERE id = ?')
          .run(outcome.status, outcome.costUsd ?? null, durationMs, outcome.status === 'error' ? (detail ?? 'failed') : null, run.jobId);
        this.pruneRuns(run.jobId);
        return this.getRun(runId);
      })
      .immediate();
  }

  /** Records a fire that did not run. The job's last_* fields describe real runs and are left alone. */
  recordMissed(jobId: string, scheduledFor: number, status: 'missed' | 'skipped', detail: string): Run {
    const id = newId('r');
    const now = this.now();
    this.db
      .transaction(() => {
        this.mustGet(jobId);
        this.db
          .prepare('INSERT INTO runs (id, job_id, scheduled_for, finished_at, status, detail) VALUES (?, ?, ?, ?, ?, ?)')
          .run(id, jobId, scheduledFor, now, status, detail);
        this.pruneRuns(jobId);
      })
      .immediate();
    return this.mustGetRun(id);
  }

  getRun(id: string): Run | undefined {
    const row = this.db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
    return row && toRun(row);
  }

  /** A job's latest runs, newest first; `offset` skips that many of the newest (a page further back). */
  runs(jobId: string, limit: number, offset = 0): Run[] {
    return this.db
      .prepare<[string, number, number], RunRow>('SELECT * FROM runs WHERE job_id = ? ORDER BY scheduled_for DESC, rowid DESC LIMIT ? OFFSET ?')
      .all(jobId, Math.max(0, Math.floor(limit)), Math.max(0, Math.floor(offset)))
      .map(toRun);
  }

  /** Runs still marked running (after a crash: runs that were interrupted). */
  runningRuns(): Run[] {
    return this.db
      .prepare<[], RunRow>("SELECT * FROM runs WHERE status = 'running' ORDER BY started_at, rowid")
      .all()
      .map(toRun);
  }

  private listRows(user: string | undefined): JobRow[] {
    if (user === undefined) return this.db.prepare<[], JobRow>('SELECT * FROM jobs ORDER BY "user", name').all();
    return this.db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE "user" = ? ORDER BY name').all(user);
  }

  /** The user's jobs from `source` that may still fire (a one-shot job that has fired does not count). */
  private countActive(user: string, source: JobSource): number {
    return this.db
      .prepare<[string, string], { count: number }>('SELECT COUNT(*) AS count FROM jobs WHERE "user" = ? AND source = ? AND done = 0')
      .get(user, source)?.count ?? 0;
  }

  /** Removes a job's runs beyond the newest `keepRuns` (in the order `runs` lists them); running ones stay. */
  private pruneRuns(jobId: string): void {
    this.db
      .prepare(
        `DELETE FROM runs WHERE job_id = @job AND status <> 'running' AND rowid NOT IN
           (SELECT rowid FROM runs WHERE job_id = @job ORDER BY scheduled_for DESC, rowid DESC LIMIT @keep)`,
      )
      .run({ job: jobId, keep: this.keepRuns });
  }

  private mustGet(id: string): Job {
    const job = this.get(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  private mustGetRun(id: string): Run {
    const run = this.getRun(id);
    if (!run) throw new Error(`cron database: run ${id} vanished right after it was written`);
    return run;
  }

  private refuseDuplicate(user: string, name: string): void {
    const existing = this.db
      .prepare<[string, string], Pick<JobRow, 'source'>>('SELECT source FROM jobs WHERE "user" = ? AND name = ?')
      .get(user, name);
    if (existing) throw new DuplicateJobError(user, name, member(JOB_SOURCES, existing.source, 'jobs.source'));
  }

  private insertJob(id: string, settings: JobSettings, source: JobSource, paused: boolean, now: number): void {
    this.db
      .prepare(
        `INSERT INTO jobs (id, name, "user", prompt, schedule, run_at, timezone, session_mode, keep, misfire, misfire_grace_ms,
           paused, source, labels, skip_above_utilization, created_at, updated_at, next_run_at)
         VALUES (@id, @name, @user, @prompt, @schedule, @run_at, @timezone, @session_mode, @keep, @misfire, @misfire_grace_ms,
           @paused, @source, @labels, @skip_above_utilization, @now, @now, @next_run_at)`,
      )
      .run({ ...settingsParams(settings), id, paused: paused ? 1 : 0, source, now, next_run_at: paused ? null : firstFire(settings, now) });
  }

  private updateJob(id: string, sql: string, ...params: (string | number | null)[]): void {
    const changes = this.db.transaction(() => this.db.prepare(sql).run(...params).changes).immediate();
    if (changes === 0) throw new JobNotFoundError(id);
  }
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import {
  DuplicateJobError,
  JobLimitError,
  JobNotFoundError,
  JobStore,
  JobStoreFormatError,
  JobValidationError,
  type ConfigJobInput,
  type NewJob,
} from '../../../../extensions/cron/job-store.ts';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const MINUTE = 60_000;

const dirs: string[] = [];
const stores: JobStore[] = [];
after(() => {
  for (const store of stores) store.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function dbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-store-'));
  dirs.push(dir);
  return path.join(dir, 'state', 'cron.db');
}

function openStore(file = dbFile(), now: () => number = () => NOW): JobStore {
  const store = JobStore.open(file, { now });
  stores.push(store);
  return store;
}

const digest: NewJob = { name: 'digest', user: 'alice', prompt: 'Summarise my inbox', schedule: '0 9 * * *', timezone: 'UTC' };

function invalid(field: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof JobValidationError, String(error));
    assert.equal(error.field, field);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('JobStore: jobs', () => {
  test('opens a private WAL database and creates a job with its defaults and first fire', () => {
    const file = dbFile();
    const store = openStore(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();

    const job = store.create(digest);
    assert.match(job.id, /^j_[a-z0-9]+$/);
    assert.deepEqual(
      { ...job, id: 'x' },
      {
        id: 'x',
        name: 'digest',
        user: 'alice',
        prompt: 'Summarise my inbox',
        schedule: '0 9 * * *',
        runAt: null,
        timezone: 'UTC',
        sessionMode: 'new',
        keep: false,
        misfire: 'once',
        misfireGraceMs: 600_000,
        paused: false,
        source: 'cli',
        labels: {},
        skipAboveUtilization: null,
        reuseSessionId: null,
        createdAt: NOW,
        updatedAt: NOW,
        nextRunAt: Date.parse('2026-05-02T09:00:00Z'),
        lastRunAt: null,
        lastStatus: null,
        lastCostUsd: null,
        lastDurationMs: null,
        lastError: null,
        done: false,
      },
    );
    assert.deepEqual(store.get(job.id), job);
  });

  test('a one-shot job keeps its options and labels; its first fire is its time', () => {
    const store = openStore();
    const job = store.create({
      name: 'remind',
      user: 'bob',
      prompt: 'Stand up',
      runAt: NOW + 20 * MINUTE,
      timezone: 'Europe/Berlin',
      sessionMode: 'reuse',
      keep: true,
      misfire: 'skip',
      misfireGraceMs: 5000,
      source: 'session',
      labels: { chat: '12345', via: 'telegram' },
      skipAboveUtilization: 72.5,
    });
    assert.equal(job.nextRunAt, NOW + 20 * MINUTE);
    assert.equal(job.schedule, null);
    assert.deepEqual(
      [job.sessionMode, job.keep, job.misfire, job.misfireGraceMs, job.source, job.labels, job.skipAboveUtilization],
      ['reuse', true, 'skip', 5000, 'session', { chat: '12345', via: 'telegram' }, 72.5],
    );
    assert.equal(store.get(job.id)?.skipAboveUtilization, 72.5);
  });

  test('invalid jobs are refused with the field and the reason', () => {
    const store = openStore();
    assert.throws(() => store.create({ ...digest, schedule: '61 * * * *' }), invalid('schedule', /expected range 0-59/));
    assert.throws(() => store.create({ ...digest, runAt: NOW + MINUTE }), invalid('schedule', /either a cron schedule .* or run_at/));
    assert.throws(() => store.create({ ...digest, schedule: undefined }), invalid('schedule', /either/));
    assert.throws(() => store.create({ ...digest, schedule: undefined, runAt: NOW - 1 }), invalid('runAt', /in the past/));
    assert.throws(() => store.create({ ...digest, timezone: 'Mars/Base' }), invalid('timezone', /unknown timezone "Mars\/Base"/));
    assert.throws(() => store.create({ ...digest, name: 'no spaces please' }), invalid('name', /letters, digits/));
    assert.throws(() => store.create({ ...digest, prompt: '  ' }), invalid('prompt', /empty/));
    assert.throws(() => store.create({ ...digest, misfireGraceMs: -1 }), invalid('misfireGraceMs', /negative/));
    assert.throws(() => store.create({ ...digest, misfire: 'sometimes' as 'once' }), invalid('misfire', /./));
    assert.throws(() => store.create({ ...digest, skipAboveUtilization: 101 }), invalid('skipAboveUtilization', /percentage from 0 to 100/));
    assert.throws(() => store.create({ ...digest, skipAboveUtilization: -0.5 }), invalid('skipAboveUtilization', /percentage from 0 to 100/));
    assert.deepEqual(store.list(), []);
  });

  test('a duplicate name for the same user is refused clearly; another user may use it', () => {
    const store = openStore();
    store.create(digest);
    assert.throws(
      () => store.create({ ...digest, prompt: 'again' }),
      (error: unknown) =>
        error instanceof DuplicateJobError && error.user === 'alice' && /already has a cron job named "digest" \(from cli\)/.test(error.message),
    );
    store.create({ ...digest, user: 'bob' });
    assert.deepEqual(
      store.list().map((job) => `${job.user}/${job.name}`),
      ['alice/digest', 'bob/digest'],
    );
    assert.deepEqual(
      store.list({ user: 'bob' }).map((job) => job.user),
      ['bob'],
    );
  });

  test('pausing clears the next fire; resuming takes the first fire after now, not the ones missed while paused', () => {
    let now = NOW;
    const store = openStore(dbFile(), () => now);
    const job = store.create({ ...digest, schedule: '*/10 * * * *' });
    assert.equal(job.nextRunAt, NOW + 10 * MINUTE);
    assert.equal(store.setPaused(job.id, true).nextRunAt, null);
    now += 65 * MINUTE;
    const resumed = store.setPaused(job.id, false);
    assert.equal(resumed.paused, false);
    assert.equal(resumed.nextRunAt, NOW + 70 * MINUTE);
    assert.throws(() => store.setPaused('j_missing', true), JobNotFoundError);
  });

  test('next run, done, reuse session and delete (which takes the runs along)', () => {
    const store = openStore();
    const job = store.create(digest);
    store.setNextRun(job.id, 42);
    assert.equal(store.get(job.id)?.nextRunAt, 42);
    store.setReuseSession(job.id, 's_abc');
    assert.equal(store.get(job.id)?.reuseSessionId, 's_abc');
    store.markDone(job.id);
    assert.deepEqual([store.get(job.id)?.done, store.get(job.id)?.nextRunAt], [true, null]);
    const run = store.startRun(job.id, 42, NOW);
    assert.equal(store.delete(job.id), true);
    assert.equal(store.delete(job.id), false);
    assert.equal(store.get(job.id), undefined);
    assert.equal(store.getRun(run.id), undefined);
    assert.equal(store.finishRun(run.id, { status: 'success' }, NOW), undefined);
    assert.throws(() => store.setNextRun(job.id, 1), JobNotFoundError);
    assert.throws(() => store.startRun(job.id, 1, NOW), JobNotFoundError);
  });

  test('the data survives closing and reopening', () => {
    const file = dbFile();
    const first = JobStore.open(file, { now: () => NOW });
    const job = first.create(digest);
    first.startRun(job.id, NOW, NOW);
    first.close();
    const second = openStore(file);
    assert.deepEqual(second.get(job.id)?.name, 'digest');
    assert.equal(second.runningRuns().length, 1);
  });
});

describe('JobStore: runs', () => {
  test('a run is started and finished; the job keeps the last result', () => {
    const store = openStore();
    const job = store.create(digest);
    const scheduled = Date.parse('2026-05-02T09:00:00Z');
    const run = store.startRun(job.id, scheduled, scheduled + 5);
    assert.match(run.id, /^r_/);
    assert.deepEqual([run.status, run.scheduledFor, run.startedAt, run.finishedAt], ['running', scheduled, scheduled + 5, null]);
    assert.deepEqual([store.get(job.id)?.lastRunAt, store.get(job.id)?.lastStatus], [scheduled + 5, 'running']);
    assert.deepEqual(store.runningRuns().map((r) => r.id), [run.id]);

    const finished = store.finishRun(run.id, { status: 'success', costUsd: 0.25, sessionId: 's_1', promptId: 'p_1' }, scheduled + 2005);
    assert.deepEqual(
      [finished?.status, finished?.finishedAt, finished?.durationMs, finished?.costUsd, finished?.sessionId, finished?.promptId],
      ['success', scheduled + 2005, 2000, 0.25, 's_1', 'p_1'],
    );
    const after = store.get(job.id);
    assert.deepEqual([after?.lastStatus, after?.lastCostUsd, after?.lastDurationMs, after?.lastError], ['success', 0.25, 2000, null]);
    assert.deepEqual(store.runningRuns(), []);
    // Finishing twice changes nothing.
    assert.equal(store.finishRun(run.id, { status: 'error', detail: 'late' }, scheduled + 9999)?.status, 'success');

    const failed = store.startRun(job.id, scheduled + 86_400_000, scheduled + 86_400_000);
    store.finishRun(failed.id, { status: 'error', detail: 'model overloaded', durationMs: 7 }, scheduled + 86_400_100);
    assert.deepEqual([store.get(job.id)?.lastStatus, store.get(job.id)?.lastError, store.get(job.id)?.lastDurationMs], ['error', 'model overloaded', 7]);
  });

  test('missed and skipped fires are recorded without touching the last result; runs() lists newest first', () => {
    const store = openStore();
    const job = store.create(digest);
    const run = store.startRun(job.id, 3000, 3000);
    store.finishRun(run.id, { status: 'success' }, 3100);
    store.recordMissed(job.id, 1000, 'missed', 'daemon was down');
    const skipped = store.recordMissed(job.id, 2000, 'skipped', 'previous run still going');
    assert.deepEqual([skipped.status, skipped.startedAt, skipped.finishedAt, skipped.detail], ['skipped', null, NOW, 'previous run still going']);
    assert.equal(store.get(job.id)?.lastStatus, 'success');
    assert.deepEqual(
      store.runs(job.id, 10).map((r) => [r.scheduledFor, r.status]),
      [
        [3000, 'success'],
        [2000, 'skipped'],
        [1000, 'missed'],
      ],
    );
    assert.equal(store.runs(job.id, 2).length, 2);
    assert.deepEqual(store.runs(job.id, 2, 2).map((r) => r.scheduledFor), [1000], 'the page after the newest two');
    assert.throws(() => store.recordMissed('j_missing', 1, 'missed', 'x'), JobNotFoundError);
  });

  test('only the newest keepRuns runs of a job are kept: older ones go as runs finish or fires are recorded', () => {
    const store = JobStore.open(dbFile(), { now: () => NOW, keepRuns: 3 });
    stores.push(store);
    const job = store.create(digest);
    const other = store.create({ ...digest, name: 'other' });
    const otherRun = store.startRun(other.id, 1, 1);
    store.finishRun(otherRun.id, { status: 'success' }, 2);
    // A run going on is never removed, even when newer ones push it out of the newest three.
    const going = store.startRun(job.id, 1000, 1000);
    for (let at = 2000; at <= 6000; at += 1000) store.finishRun(store.startRun(job.id, at, at).id, { status: 'success' }, at + 10);
    assert.deepEqual(store.runs(job.id, 100).map((r) => r.scheduledFor), [6000, 5000, 4000, 1000]);
    store.finishRun(going.id, { status: 'error', detail: 'slow' }, 7000);
    assert.deepEqual(store.runs(job.id, 100).map((r) => r.scheduledFor), [6000, 5000, 4000]);

    store.recordMissed(job.id, 7000, 'skipped', 'previous run still going');
    assert.deepEqual(store.runs(job.id, 100).map((r) => [r.scheduledFor, r.status]), [[7000, 'skipped'], [6000, 'success'], [5000, 'success']]);
    assert.equal(store.runs(other.id, 100).length, 1, "another job's runs are its own");

    store.setKeepRuns(1);
    store.recordMissed(job.id, 8000, 'missed', 'daemon was down');
    assert.deepEqual(store.runs(job.id, 100).map((r) => r.scheduledFor), [8000]);
    assert.throws(() => store.setKeepRuns(0), RangeError);
  });
});

describe('JobStore: a quota', () => {
  test("a user's jobs from one source are limited; other sources, other users and fired one-shots do not count", () => {
    const store = openStore();
    const bySession = (name: string, extra: Partial<NewJob> = {}): NewJob => ({ ...digest, name, source: 'session', ...extra });
    store.create(bySession('a'), { maxJobs: 2 });
    const once = store.create(bySession('once', { schedule: undefined, runAt: NOW + MINUTE }), { maxJobs: 2 });
    assert.throws(
      () => store.create(bySession('c'), { maxJobs: 2 }),
      (error: unknown) => error instanceof JobLimitError && error.user === 'alice' && error.limit === 2 && /already has 2 cron jobs made by sessions.*cron\.max_jobs_per_user/.test(error.message),
    );
    assert.deepEqual(store.list({ user: 'alice' }).map((j) => j.name), ['a', 'once'], 'nothing was stored');
    store.create({ ...digest, name: 'from-cli' }, { maxJobs: 2 });
    store.create(bySession('bobs', { user: 'bob' }), { maxJobs: 2 });
    store.markDone(once.id);
    store.create(bySession('c'), { maxJobs: 2 });
    assert.throws(() => store.create(bySession('d'), { maxJobs: 2 }), JobLimitError);
    store.create(bySession('d'));
    assert.throws(() => store.create(bySession('e'), { maxJobs: 0 }), JobLimitError);
  });
});

describe('JobStore: config jobs', () => {
  const config: ConfigJobInput[] = [
    { name: 'digest', prompt: 'Summarise my inbox', schedule: '0 9 * * *', timezone: 'UTC' },
    { name: 'backup', prompt: 'Check the backups', schedule: '0 3 * * *', timezone: 'UTC', labels: { chat: '1' } },
  ];

  test('creates, leaves unchanged, updates and removes config jobs by name', () => {
    let now = NOW;
    const store = openStore(dbFile(), () => now);
    assert.deepEqual(store.upsertConfigJobs('alice', config), { created: ['digest', 'backup'], updated: [], removed: [] });
    assert.ok(store.list().every((job) => job.source === 'config'));
    const before = store.list({ user: 'alice' });
    assert.deepEqual(store.upsertConfigJobs('alice', config), { created: [], updated: [], removed: [] });
    assert.deepEqual(store.list({ user: 'alice' }), before);

    now += MINUTE;
    const changed: ConfigJobInput[] = [{ ...config[0]!, schedule: '30 10 * * *', prompt: 'Summarise it all' }, config[1]!];
    assert.deepEqual(store.upsertConfigJobs('alice', changed), { created: [], updated: ['digest'], removed: [] });
    const digestJob = store.list({ user: 'alice' }).find((job) => job.name === 'digest');
    assert.deepEqual(
      [digestJob?.schedule, digestJob?.prompt, digestJob?.nextRunAt, digestJob?.updatedAt],
      ['30 10 * * *', 'Summarise it all', Date.parse('2026-05-02T10:30:00Z'), now],
    );
    assert.equal(digestJob?.id, before.find((job) => job.name === 'digest')?.id);

    const cliJob = store.create({ name: 'adhoc', user: 'alice', prompt: 'x', schedule: '* * * * *', timezone: 'UTC' });
    assert.deepEqual(store.upsertConfigJobs('alice', [config[1]!]), { created: [], updated: [], removed: ['digest'] });
    assert.deepEqual(
      store.list({ user: 'alice' }).map((job) => job.name),
      ['adhoc', 'backup'],
    );
    assert.ok(store.get(cliJob.id));
  });

  test('a label change is an update; pausing survives a reload', () => {
    const store = openStore();
    store.upsertConfigJobs('alice', config);
    const backup = store.list().find((job) => job.name === 'backup');
    assert.ok(backup);
    store.setPaused(backup.id, true);
    const relabelled = [config[0]!, { ...config[1]!, labels: { chat: '2' } }];
    assert.deepEqual(store.upsertConfigJobs('alice', relabelled), { created: [], updated: ['backup'], removed: [] });
    assert.deepEqual([store.get(backup.id)?.labels, store.get(backup.id)?.paused], [{ chat: '2' }, true]);
  });

  test('a config job syncs its threshold: set, changed and removed are updates; unchanged is none', () => {
    const store = openStore();
    const withThreshold = (skipAboveUtilization?: number): ConfigJobInput[] => [config[0]!, { ...config[1]!, ...(skipAboveUtilization !== undefined ? { skipAboveUtilization } : {}) }];
    store.upsertConfigJobs('alice', withThreshold(80));
    const backup = store.list().find((job) => job.name === 'backup');
    assert.equal(backup?.skipAboveUtilization, 80);
    assert.equal(store.list().find((job) => job.name === 'digest')?.skipAboveUtilization, null);
    assert.deepEqual(store.upsertConfigJobs('alice', withThreshold(80)), { created: [], updated: [], removed: [] });
    assert.deepEqual(store.upsertConfigJobs('alice', withThreshold(65)), { created: [], updated: ['backup'], removed: [] });
    assert.equal(store.get(backup!.id)?.skipAboveUtilization, 65);
    assert.equal(store.get(backup!.id)?.nextRunAt, backup?.nextRunAt, 'a new threshold does not move the next fire');
    assert.deepEqual(store.upsertConfigJobs('alice', withThreshold()), { created: [], updated: ['backup'], removed: [] });
    assert.equal(store.get(backup!.id)?.skipAboveUtilization, null);
  });

  test('a config job may not take the name of a job from elsewhere; nothing is changed then', () => {
    const store = openStore();
    store.create({ name: 'backup', user: 'alice', prompt: 'mine', schedule: '* * * * *', timezone: 'UTC', source: 'session' });
    assert.throws(() => store.upsertConfigJobs('alice', config), (error: unknown) => error instanceof DuplicateJobError && /from session/.test(error.message));
    assert.deepEqual(
      store.list().map((job) => job.name),
      ['backup'],
    );
    assert.throws(() => store.upsertConfigJobs('alice', [config[0]!, config[0]!]), invalid('name', /declared twice/));
    assert.throws(() => store.upsertConfigJobs('alice', [{ ...config[0]!, schedule: 'nope' }]), invalid('schedule', /nope/));
  });
});

/** The schema cron's database had at version 1, before jobs had their own skip_above_utilization. */
const SCHEMA_V1 = `
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

describe('JobStore: the database format', () => {
  test('a version-1 database is upgraded in place: its jobs and runs stay, and gain a threshold', () => {
    const file = dbFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = new Database(file);
    old.exec(SCHEMA_V1);
    old
      .prepare(
        `INSERT INTO jobs (id, name, "user", prompt, schedule, timezone, session_mode, misfire, misfire_grace_ms, source, labels, created_at, updated_at, next_run_at)
         VALUES ('j_old', 'digest', 'alice', 'Summarise my inbox', '0 9 * * *', 'UTC', 'new', 'once', 600000, 'cli', '{"chat":"7"}', 1, 1, 2)`,
      )
      .run();
    old.prepare("INSERT INTO runs (id, job_id, scheduled_for, started_at, finished_at, status) VALUES ('r_old', 'j_old', 1, 1, 2, 'success')").run();
    old.pragma('user_version = 1');
    old.close();

    const store = openStore(file);
    const job = store.get('j_old');
    assert.deepEqual([job?.name, job?.prompt, job?.labels, job?.nextRunAt, job?.skipAboveUtilization], ['digest', 'Summarise my inbox', { chat: '7' }, 2, null]);
    assert.deepEqual(store.runs('j_old', 10).map((run) => run.id), ['r_old']);
    const made = store.create({ ...digest, name: 'guarded', skipAboveUtilization: 80 });
    assert.equal(store.get(made.id)?.skipAboveUtilization, 80);
    store.close();

    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), 2);
    assert.ok((raw.pragma('table_info(jobs)') as Array<{ name: string; type: string }>).some((c) => c.name === 'skip_above_utilization' && c.type === 'REAL'));
    raw.close();
    assert.equal(openStore(file).list().length, 2, 'opening it again changes nothing');
  });

  test('a database of an unknown version is refused, and left as it was', () => {
    const file = dbFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const future = new Database(file);
    future.pragma('user_version = 3');
    future.close();
    assert.throws(() => JobStore.open(file), (error: unknown) => error instanceof JobStoreFormatError && /schema version 3 is not 2/.test(error.message));
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), 3);
    raw.close();
  });
});

describe('JobStore: two processes on one file', () => {
  const storeUrl = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../extensions/cron/job-store.ts')).href;
  const hooks = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../bin/register-hooks.mjs')).href;
  const writer = `
    const { JobStore } = await import(process.env.STORE_URL);
    // Every run is kept, so that none lost can hide among the pruned.
    const store = JobStore.open(process.env.DB_FILE, { keepRuns: 100000 });
    const tag = process.env.TAG;
    const count = Number(process.env.COUNT);
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy();
    let contested = false;
    for (let i = 0; i < count; i++) {
      store.create({ name: tag + '-' + i, user: 'u', prompt: 'p', schedule: '* * * * *', timezone: 'UTC' });
      const run = store.startRun(process.env.SHARED, i, Date.now());
      store.finishRun(run.id, { status: 'success', costUsd: 0.5 }, Date.now());
      if (i === count / 2) {
        try {
          store.create({ name: 'contested', user: 'u', prompt: tag, schedule: '* * * * *', timezone: 'UTC' });
          contested = true;
        } catch (error) {
          if (error.name !== 'DuplicateJobError') throw error;
        }
      }
    }
    store.close();
    process.stdout.write(JSON.stringify({ contested }) + '\\n');
  `;

  interface Writer {
    ready: Promise<void>;
    go(): void;
    result: Promise<{ contested: boolean }>;
  }

  function startWriter(file: string, tag: string, count: number, shared: string): Writer {
    const child = spawn(process.execPath, ['--import', hooks, '--input-type=module', '-e', writer], {
      env: { ...process.env, STORE_URL: storeUrl, DB_FILE: file, TAG: tag, COUNT: String(count), SHARED: shared },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) markReady();
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const result = new Promise<{ contested: boolean }>((resolve, reject) => {
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`writer ${tag} exited ${code}: ${err}`));
        else resolve(JSON.parse(out.split('\n').filter(Boolean).at(-1) ?? '{}') as { contested: boolean });
      });
    });
    return { ready, go: () => child.stdin.write('go\n'), result };
  }

  test('concurrent writers lose nothing and only one wins a contested name', async () => {
    const file = dbFile();
    const store = openStore(file);
    const shared = store.create({ name: 'shared', user: 'owner', prompt: 'p', schedule: '* * * * *', timezone: 'UTC' });
    const count = 300;
    const writers = [startWriter(file, 'a', count, shared.id), startWriter(file, 'b', count, shared.id)];
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.go();
    const results = await Promise.all(writers.map((w) => w.result));

    assert.equal(results.filter((r) => r.contested).length, 1);
    const names = store.list({ user: 'u' }).map((job) => job.name);
    assert.equal(names.length, 2 * count + 1);
    for (const tag of ['a', 'b']) for (let i = 0; i < count; i++) assert.ok(names.includes(`${tag}-${i}`), `${tag}-${i}`);
    const runs = store.runs(shared.id, 10_000);
    assert.equal(runs.length, 2 * count);
    assert.ok(runs.every((run) => run.status === 'success' && run.costUsd === 0.5));
    assert.equal(store.get(shared.id)?.lastStatus, 'success');
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createLogger, type Logger } from '../../../../core/util/log.ts';
import { FakeClock, MAX_TIMER_MS } from '../../../../extensions/cron/clock.ts';
import { JobNotFoundError, JobStore, type Job, type NewJob, type RunOutcome } from '../../../../extensions/cron/job-store.ts';
import { INTERRUPTED_DETAIL, MAX_LISTED_MISSES, Scheduler, type MissedStatus } from '../../../../extensions/cron/scheduler.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (text: string): number => Date.parse(text);
const iso = (time: number): string => new Date(time).toISOString();

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Fire {
  job: string;
  scheduledFor: string;
  firedAt: string;
}

interface Deferred {
  resolve(outcome: RunOutcome): void;
  promise: Promise<RunOutcome>;
}

function deferred(): Deferred {
  let resolve: (outcome: RunOutcome) => void = () => undefined;
  const promise = new Promise<RunOutcome>((r) => (resolve = r));
  return { resolve, promise };
}

/** A store on a temp file, a fake clock and a record of what fired and what was missed. */
class World {
  readonly clock: FakeClock;
  readonly file: string;
  readonly store: JobStore;
  readonly fires: Fire[] = [];
  readonly missed: { job: string; scheduledFor: string; status: MissedStatus }[] = [];
  readonly logs: string[] = [];
  readonly logger: Logger;
  /** What the next fires return; default: success at once. */
  outcome: (job: Job) => Promise<RunOutcome> = async () => ({ status: 'success', costUsd: 0.01 });
  private readonly schedulers: Scheduler[] = [];

  constructor(start: string) {
    this.clock = new FakeClock(at(start));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-scheduler-'));
    dirs.push(dir);
    this.file = path.join(dir, 'cron.db');
    this.store = JobStore.open(this.file, { now: () => this.clock.now() });
    this.logger = createLogger({ level: 'debug', sinks: [{ write: (line) => this.logs.push(line) }] });
  }

  scheduler(): Scheduler {
    const scheduler = new Scheduler({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      fire: (job, scheduledFor) => {
        this.fires.push({ job: job.name, scheduledFor: iso(scheduledFor), firedAt: iso(this.clock.now()) });
        return this.outcome(job);
      },
      onMissed: (job, scheduledFor, status) => this.missed.push({ job: job.name, scheduledFor: iso(scheduledFor), status }),
    });
    this.schedulers.push(scheduler);
    return scheduler;
  }

  create(job: Partial<NewJob> & { name: string }): Job {
    return this.store.create({ user: 'alice', prompt: `run ${job.name}`, timezone: 'UTC', ...job });
  }

  runs(job: Job): [string, string][] {
    return this.store
      .runs(job.id, 1000)
      .reverse()
      .map((run) => [iso(run.scheduledFor), run.status]);
  }

  async close(): Promise<void> {
    for (const scheduler of this.schedulers) {
      scheduler.stop();
      await scheduler.whenIdle();
    }
    this.store.close();
  }
}

async function withWorld(start: string, body: (world: World) => Promise<void>): Promise<void> {
  const world = new World(start);
  try {
    await body(world);
    assert.deepEqual(
      world.logs.filter((line) => line.includes(' ERROR ')),
      [],
    );
  } finally {
    await world.close();
  }
}

describe('Scheduler: firing', () => {
  test('a job fires at its minute, on one timer, and its runs are recorded', () =>
    withWorld('2026-01-01T00:00:30Z', async (w) => {
      const job = w.create({ name: 'every-minute', schedule: '* * * * *' });
      w.scheduler().start();
      assert.equal(w.clock.pendingTimers(), 1);
      assert.equal(w.clock.nextTimerAt(), at('2026-01-01T00:01:00Z'));

      await w.clock.advanceAsync(30 * SECOND - 1);
      assert.equal(w.fires.length, 0);
      await w.clock.advanceAsync(1);
      assert.deepEqual(w.fires, [{ job: 'every-minute', scheduledFor: '2026-01-01T00:01:00.000Z', firedAt: '2026-01-01T00:01:00.000Z' }]);

      await w.clock.advanceAsync(2 * MINUTE);
      assert.deepEqual(
        w.fires.map((f) => [f.scheduledFor, f.firedAt]),
        [
          ['2026-01-01T00:01:00.000Z', '2026-01-01T00:01:00.000Z'],
          ['2026-01-01T00:02:00.000Z', '2026-01-01T00:02:00.000Z'],
          ['2026-01-01T00:03:00.000Z', '2026-01-01T00:03:00.000Z'],
        ],
      );
      assert.equal(w.clock.pendingTimers(), 1);
      assert.deepEqual(
        w.runs(job).map(([, status]) => status),
        ['success', 'success', 'success'],
      );
      const stored = w.store.get(job.id);
      assert.deepEqual([stored?.lastStatus, stored?.lastCostUsd, stored?.nextRunAt], ['success', 0.01, at('2026-01-01T00:04:00Z')]);
      assert.equal(w.missed.length, 0);
    }));

  test('no job fires before its time, even when another job wakes the scheduler just before it', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      w.create({ name: 'cron', schedule: '0 1 0 * * *' });
      w.create({ name: 'soon-after', runAt: at('2026-01-01T00:01:00.600Z') });
      w.create({ name: 'later', runAt: at('2026-01-01T00:01:01.000Z') });
      w.scheduler().start();
      await w.clock.advanceToAsync(at('2026-01-01T00:01:00Z'));
      assert.deepEqual(
        w.fires.map((f) => [f.job, f.firedAt]),
        [['cron', '2026-01-01T00:01:00.000Z']],
      );
      await w.clock.advanceAsync(600);
      assert.deepEqual(w.fires.at(-1), { job: 'soon-after', scheduledFor: '2026-01-01T00:01:00.600Z', firedAt: '2026-01-01T00:01:00.600Z' });
      await w.clock.advanceAsync(400);
      assert.deepEqual(w.fires.at(-1), { job: 'later', scheduledFor: '2026-01-01T00:01:01.000Z', firedAt: '2026-01-01T00:01:01.000Z' });
    }));

  test('a one-shot job fires once and is marked done', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const job = w.create({ name: 'remind', runAt: at('2026-01-01T00:01:30Z') });
      w.scheduler().start();
      await w.clock.advanceAsync(HOUR);
      assert.deepEqual(w.fires, [{ job: 'remind', scheduledFor: '2026-01-01T00:01:30.000Z', firedAt: '2026-01-01T00:01:30.000Z' }]);
      const stored = w.store.get(job.id);
      assert.deepEqual([stored?.done, stored?.nextRunAt, stored?.lastStatus], [true, null, 'success']);
      assert.equal(w.clock.pendingTimers(), 0);
      // A restart does not fire it again.
      const second = w.scheduler();
      second.start();
      await w.clock.advanceAsync(HOUR);
      assert.equal(w.fires.length, 1);
    }));

  test('a wait longer than a Node timer can hold is re-armed and fires on time', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      w.create({ name: 'next-month', runAt: at('2026-02-05T10:00:00Z') });
      w.scheduler().start();
      assert.equal(w.clock.pendingTimers(), 1);
      assert.equal(w.clock.nextTimerAt(), w.clock.now() + MAX_TIMER_MS);
      await w.clock.advanceAsync(MAX_TIMER_MS);
      assert.equal(w.fires.length, 0);
      assert.equal(w.clock.nextTimerAt(), at('2026-02-05T10:00:00Z'));
      await w.clock.advanceAsync(40 * DAY);
      assert.deepEqual(
        w.fires.map((f) => f.firedAt),
        ['2026-02-05T10:00:00.000Z'],
      );
    }));

  test('paused jobs do not fire and their fires are not missed; a resumed job fires from then on', () =>
    withWorld('2026-01-01T00:00:30Z', async (w) => {
      const job = w.create({ name: 'tick', schedule: '* * * * *' });
      const scheduler = w.scheduler();
      scheduler.start();
      await w.clock.advanceAsync(MINUTE);
      assert.equal(w.fires.length, 1);
      w.store.setPaused(job.id, true);
      scheduler.wake();
      assert.equal(w.clock.pendingTimers(), 0);
      await w.clock.advanceAsync(10 * MINUTE);
      assert.equal(w.fires.length, 1);
      w.store.setPaused(job.id, false);
      scheduler.wake();
      await w.clock.advanceAsync(MINUTE);
      assert.deepEqual(
        w.fires.map((f) => f.scheduledFor),
        ['2026-01-01T00:01:00.000Z', '2026-01-01T00:12:00.000Z'],
      );
      assert.equal(w.missed.length, 0);
      assert.deepEqual(
        w.runs(job).map(([, status]) => status),
        ['success', 'success'],
      );
    }));

  test('wake() picks up a job created after start', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const scheduler = w.scheduler();
      scheduler.start();
      assert.equal(w.clock.pendingTimers(), 0);
      w.create({ name: 'new', runAt: at('2026-01-01T00:05:00Z') });
      scheduler.wake();
      await w.clock.advanceAsync(10 * MINUTE);
      assert.deepEqual(
        w.fires.map((f) => f.firedAt),
        ['2026-01-01T00:05:00.000Z'],
      );
    }));

  test('a failing fire is recorded as an error with its message', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const job = w.create({ name: 'flaky', runAt: at('2026-01-01T00:01:00Z') });
      w.outcome = async () => {
        throw new Error('the session could not start');
      };
      w.scheduler().start();
      await w.clock.advanceAsync(MINUTE);
      const [run] = w.store.runs(job.id, 1);
      assert.deepEqual([run?.status, run?.detail], ['error', 'the session could not start']);
      assert.equal(w.store.get(job.id)?.lastError, 'the session could not start');
    }));

  test('a job whose stored schedule became invalid is set aside; the others still fire', () =>
    withWorld('2026-01-01T00:00:30Z', async (w) => {
      w.create({ name: 'good', schedule: '* * * * *' });
      const bad = w.create({ name: 'bad', schedule: '* * * * *' });
      const raw = new Database(w.file);
      raw.prepare("UPDATE jobs SET schedule = '61 * * * *' WHERE id = ?").run(bad.id);
      raw.close();
      w.scheduler().start();
      await w.clock.advanceAsync(2 * MINUTE);
      assert.deepEqual(
        w.fires.map((f) => f.job),
        ['good', 'good'],
      );
      assert.equal(w.store.get(bad.id)?.nextRunAt, null);
      const errors = w.logs.filter((line) => line.includes(' ERROR '));
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? '', /invalid schedule.*"name":"bad"/);
      w.logs.length = 0;
    }));

  test('stop() cancels the timer', () =>
    withWorld('2026-01-01T00:00:30Z', async (w) => {
      w.create({ name: 'tick', schedule: '* * * * *' });
      const scheduler = w.scheduler();
      scheduler.start();
      scheduler.stop();
      assert.equal(w.clock.pendingTimers(), 0);
      await w.clock.advanceAsync(5 * MINUTE);
      assert.equal(w.fires.length, 0);
    }));
});

describe('Scheduler: never twice at once', () => {
  test('a fire that finds the previous run going is skipped, recorded and logged', () =>
    withWorld('2026-01-01T00:00:30Z', async (w) => {
      const job = w.create({ name: 'slow', schedule: '* * * * *' });
      const slow = deferred();
      w.outcome = () => slow.promise;
      const scheduler = w.scheduler();
      scheduler.start();
      await w.clock.advanceAsync(30 * SECOND);
      assert.equal(scheduler.isRunning(job.id), true);
      await w.clock.advanceAsync(MINUTE);
      assert.equal(w.fires.length, 1);
      assert.deepEqual(w.runs(job), [
        ['2026-01-01T00:01:00.000Z', 'running'],
        ['2026-01-01T00:02:00.000Z', 'skipped'],
      ]);
      assert.match(w.store.runs(job.id, 1)[0]?.detail ?? '', /previous run r_\w+ is still going/);
      assert.ok(w.logs.some((line) => line.includes('WARN') && line.includes('skipped') && line.includes('still going')));
      assert.deepEqual(w.missed, [{ job: 'slow', scheduledFor: '2026-01-01T00:02:00.000Z', status: 'skipped' }]);

      const refused = scheduler.runNow(job.id);
      assert.equal(refused.run.status, 'skipped');

      w.outcome = async () => ({ status: 'success' });
      slow.resolve({ status: 'success', durationMs: 90_000 });
      await scheduler.whenIdle();
      assert.equal(scheduler.isRunning(job.id), false);
      await w.clock.advanceAsync(MINUTE);
      assert.deepEqual(
        w.fires.map((f) => f.scheduledFor),
        ['2026-01-01T00:01:00.000Z', '2026-01-01T00:03:00.000Z'],
      );
      assert.deepEqual(
        w.runs(job).map(([, status]) => status),
        ['success', 'skipped', 'skipped', 'success'],
      );
    }));

  test('runNow fires at once, with now as its scheduled time', () =>
    withWorld('2026-01-01T00:00:10Z', async (w) => {
      const job = w.create({ name: 'manual', schedule: '0 9 * * *' });
      const scheduler = w.scheduler();
      scheduler.start();
      const handle = scheduler.runNow(job.id);
      assert.equal(handle.run.status, 'running');
      const finished = await handle.finished;
      assert.deepEqual([finished.status, finished.scheduledFor], ['success', at('2026-01-01T00:00:10Z')]);
      assert.deepEqual(w.fires, [{ job: 'manual', scheduledFor: '2026-01-01T00:00:10.000Z', firedAt: '2026-01-01T00:00:10.000Z' }]);
      assert.throws(() => scheduler.runNow('j_nothere'), JobNotFoundError);
    }));
});

describe('Scheduler: after downtime', () => {
  /** Creates an every-minute job, runs a scheduler, stops it at 00:00:30 and starts a new one `downMs` later. */
  async function downtime(w: World, job: Partial<NewJob>, downMs: number): Promise<{ job: Job; scheduler: Scheduler }> {
    const created = w.create({ name: 'tick', schedule: '* * * * *', ...job });
    const first = w.scheduler();
    first.start();
    await w.clock.advanceAsync(30 * SECOND);
    first.stop();
    await w.clock.advanceAsync(downMs);
    const scheduler = w.scheduler();
    scheduler.start();
    await scheduler.whenIdle();
    await w.clock.advanceAsync(0);
    return { job: created, scheduler };
  }

  test('once: the missed fires coalesce into one run for the latest', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const { job } = await downtime(w, { misfire: 'once', misfireGraceMs: HOUR }, 5 * MINUTE);
      // Down from 00:00:30 to 00:05:30: fires 00:01 to 00:05 were missed.
      assert.deepEqual(w.fires, [{ job: 'tick', scheduledFor: '2026-01-01T00:05:00.000Z', firedAt: '2026-01-01T00:05:30.000Z' }]);
      assert.deepEqual(w.runs(job), [
        ['2026-01-01T00:01:00.000Z', 'skipped'],
        ['2026-01-01T00:02:00.000Z', 'skipped'],
        ['2026-01-01T00:03:00.000Z', 'skipped'],
        ['2026-01-01T00:04:00.000Z', 'skipped'],
        ['2026-01-01T00:05:00.000Z', 'success'],
      ]);
      assert.match(w.store.runs(job.id, 5)[4]?.detail ?? '', /coalesced into the run for 2026-01-01T00:05:00.000Z/);
      assert.equal(w.missed.length, 4);
      await w.clock.advanceAsync(30 * SECOND);
      assert.equal(w.fires.at(-1)?.scheduledFor, '2026-01-01T00:06:00.000Z');
    }));

  test('skip: none of the missed fires runs; each is recorded', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const { job } = await downtime(w, { misfire: 'skip' }, 5 * MINUTE);
      assert.equal(w.fires.length, 0);
      assert.deepEqual(
        w.runs(job).map(([, status]) => status),
        ['skipped', 'skipped', 'skipped', 'skipped', 'skipped'],
      );
      assert.match(w.store.runs(job.id, 1)[0]?.detail ?? '', /misfire policy "skip"/);
      assert.deepEqual(
        w.missed.map((m) => m.scheduledFor),
        ['01', '02', '03', '04', '05'].map((m) => `2026-01-01T00:${m}:00.000Z`),
      );
      await w.clock.advanceAsync(30 * SECOND);
      assert.deepEqual(
        w.fires.map((f) => [f.scheduledFor, f.firedAt]),
        [['2026-01-01T00:06:00.000Z', '2026-01-01T00:06:00.000Z']],
      );
    }));

  test('all: each missed fire runs, one after another, in order', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      let running = 0;
      let most = 0;
      w.outcome = async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return { status: 'success' };
      };
      const { job } = await downtime(w, { misfire: 'all' }, 5 * MINUTE);
      assert.deepEqual(
        w.fires.map((f) => f.scheduledFor),
        ['01', '02', '03', '04', '05'].map((m) => `2026-01-01T00:${m}:00.000Z`),
      );
      assert.equal(most, 1);
      assert.deepEqual(
        w.runs(job).map(([, status]) => status),
        ['success', 'success', 'success', 'success', 'success'],
      );
      assert.equal(w.missed.length, 0);
    }));

  test('all: a fire that comes due during the catch-up is skipped, not run alongside', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const slow = deferred();
      w.outcome = () => slow.promise;
      const created = w.create({ name: 'tick', schedule: '* * * * *', misfire: 'all' });
      const first = w.scheduler();
      first.start();
      first.stop();
      await w.clock.advanceAsync(3 * MINUTE + 30 * SECOND);
      const scheduler = w.scheduler();
      scheduler.start();
      await w.clock.advanceAsync(30 * SECOND);
      assert.equal(w.fires.length, 1);
      w.outcome = async () => ({ status: 'success' });
      slow.resolve({ status: 'success' });
      await scheduler.whenIdle();
      assert.deepEqual(w.runs(created), [
        ['2026-01-01T00:01:00.000Z', 'success'],
        ['2026-01-01T00:02:00.000Z', 'success'],
        ['2026-01-01T00:03:00.000Z', 'success'],
        ['2026-01-01T00:04:00.000Z', 'skipped'],
      ]);
    }));

  test('the grace period is respected: older fires are recorded as missed', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      // Down from 00:00:30 to 00:30:30; a grace of 10 minutes keeps 00:21 to 00:30.
      const { job } = await downtime(w, { misfire: 'all', misfireGraceMs: 10 * MINUTE }, 30 * MINUTE);
      assert.deepEqual(
        w.fires.map((f) => f.scheduledFor.slice(11, 16)),
        ['00:21', '00:22', '00:23', '00:24', '00:25', '00:26', '00:27', '00:28', '00:29', '00:30'],
      );
      const runs = w.runs(job);
      assert.equal(runs.length, 30);
      assert.deepEqual(
        runs.slice(0, 20).map(([, status]) => status),
        Array(20).fill('missed'),
      );
      assert.match(w.store.runs(job.id, 30).at(-1)?.detail ?? '', /beyond the misfire grace of 10m/);
      assert.equal(w.missed.filter((m) => m.status === 'missed').length, 20);
    }));

  test('once beyond grace: nothing runs, everything is recorded as missed', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const { job } = await downtime(w, { misfire: 'once', misfireGraceMs: 2 * MINUTE }, 10 * MINUTE);
      // Down until 00:10:30: 00:09 and 00:10 are within grace, so 00:10 runs.
      assert.deepEqual(
        w.fires.map((f) => f.scheduledFor.slice(11, 16)),
        ['00:10'],
      );
      const statuses = w.runs(job).map(([time, status]) => `${time.slice(11, 16)} ${status}`);
      assert.deepEqual(statuses.slice(-3), ['00:08 missed', '00:09 skipped', '00:10 success']);
      await withWorld('2026-01-01T00:00:00Z', async (w2) => {
        const late = await downtime(w2, { misfire: 'once', misfireGraceMs: 10 * SECOND }, 10 * MINUTE);
        assert.equal(w2.fires.length, 0);
        assert.ok(w2.runs(late.job).every(([, status]) => status === 'missed'));
      });
    }));

  test('a long downtime of a frequent job lists the latest misses and sums up the rest', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      // Every second: the first scheduler ran the fires up to 00:00:30, then the daemon was down for a day.
      const { job } = await downtime(w, { schedule: '* * * * * *', misfire: 'once', misfireGraceMs: MINUTE }, DAY);
      const afterRestart = w.fires.filter((f) => f.firedAt === '2026-01-02T00:00:30.000Z');
      assert.equal(afterRestart.length, 1);
      const runs = w.store.runs(job.id, 10_000).filter((run) => run.scheduledFor > at('2026-01-01T00:00:30Z'));
      assert.equal(runs.length, MAX_LISTED_MISSES + 1);
      assert.equal(runs.filter((run) => run.status === 'success').length, 1);
      const summary = runs.at(-1);
      assert.equal(summary?.status, 'missed');
      assert.match(summary?.detail ?? '', /every fire from 2026-01-01T00:00:31.000Z until .* was missed/);
      assert.equal(afterRestart[0]?.scheduledFor, '2026-01-02T00:00:30.000Z');
    }));

  test('a one-shot job missed beyond grace still runs (late) with once, and is recorded as skipped with skip', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const late = w.create({ name: 'late', runAt: at('2026-01-01T00:10:00Z'), misfire: 'once', misfireGraceMs: MINUTE });
      const dropped = w.create({ name: 'dropped', runAt: at('2026-01-01T00:10:00Z'), misfire: 'skip', misfireGraceMs: HOUR });
      await w.clock.advanceAsync(3 * HOUR);
      const scheduler = w.scheduler();
      scheduler.start();
      await scheduler.whenIdle();
      assert.deepEqual(w.fires, [{ job: 'late', scheduledFor: '2026-01-01T00:10:00.000Z', firedAt: '2026-01-01T03:00:00.000Z' }]);
      assert.ok(w.logs.some((line) => line.includes('one-shot job runs late') && line.includes('beyondGraceOf')));
      assert.deepEqual(w.runs(late), [['2026-01-01T00:10:00.000Z', 'success']]);
      assert.deepEqual(w.runs(dropped), [['2026-01-01T00:10:00.000Z', 'skipped']]);
      assert.deepEqual([w.store.get(late.id)?.done, w.store.get(dropped.id)?.done], [true, true]);
      assert.deepEqual(w.missed, [{ job: 'dropped', scheduledFor: '2026-01-01T00:10:00.000Z', status: 'skipped' }]);
    }));

  test('runs a crash left running are marked as interrupted errors', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const job = w.create({ name: 'crashed', schedule: '0 9 * * *' });
      const orphan = w.store.startRun(job.id, at('2025-12-31T09:00:00Z'), at('2025-12-31T09:00:01Z'));
      w.scheduler().start();
      const run = w.store.getRun(orphan.id);
      assert.deepEqual([run?.status, run?.detail, run?.finishedAt], ['error', INTERRUPTED_DETAIL, w.clock.now()]);
      assert.equal(w.store.get(job.id)?.lastError, INTERRUPTED_DETAIL);
      assert.deepEqual(w.store.runningRuns(), []);
    }));

  test('a job created while the daemon was down and due meanwhile is a missed fire', () =>
    withWorld('2026-01-01T00:00:00Z', async (w) => {
      const job = w.create({ name: 'offline', schedule: '0 * * * *', misfire: 'skip' });
      await w.clock.advanceAsync(65 * MINUTE);
      w.scheduler().start();
      assert.deepEqual(w.runs(job), [['2026-01-01T01:00:00.000Z', 'skipped']]);
    }));
});

describe('Scheduler: daylight saving time', () => {
  test('a daily 09:00 Europe/Berlin job fires at 09:00 local across both switches', () =>
    withWorld('2026-03-27T12:00:00Z', async (w) => {
      w.create({ name: 'morning', schedule: '0 9 * * *', timezone: 'Europe/Berlin' });
      w.scheduler().start();
      await w.clock.advanceToAsync(at('2026-03-30T12:00:00Z'));
      assert.deepEqual(
        w.fires.map((f) => f.firedAt),
        ['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z'],
      );
      await w.clock.advanceToAsync(at('2026-10-26T12:00:00Z'));
      const autumn = w.fires.slice(-3).map((f) => at(f.firedAt));
      assert.deepEqual(autumn.map(iso), ['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z', '2026-10-26T08:00:00.000Z']);
      assert.equal((autumn[1] ?? 0) - (autumn[0] ?? 0), 25 * HOUR);
      assert.equal(w.missed.length, 0);
    }));

  test('02:30 Europe/Berlin fires exactly once on each switch day: shifted to 03:30 in spring, the first 02:30 in autumn', () =>
    withWorld('2026-03-28T00:00:00Z', async (w) => {
      const job = w.create({ name: 'night', schedule: '30 2 * * *', timezone: 'Europe/Berlin' });
      w.scheduler().start();
      await w.clock.advanceToAsync(at('2026-03-31T00:00:00Z'));
      assert.deepEqual(
        w.fires.map((f) => f.firedAt),
        ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'],
      );
      w.fires.length = 0;
      await w.clock.advanceToAsync(at('2026-10-24T12:00:00Z'));
      w.fires.length = 0;
      await w.clock.advanceToAsync(at('2026-10-27T00:00:00Z'));
      assert.deepEqual(
        w.fires.map((f) => f.firedAt),
        ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
      );
      assert.ok(w.store.runs(job.id, 1000).every((run) => run.status === 'success'));
    }));

  test('a restart inside the repeated hour does not fire 02:30 a second time', () =>
    withWorld('2026-10-24T12:00:00Z', async (w) => {
      w.create({ name: 'night', schedule: '30 2 * * *', timezone: 'Europe/Berlin' });
      const first = w.scheduler();
      first.start();
      await w.clock.advanceToAsync(at('2026-10-25T01:10:00Z'));
      first.stop();
      await w.clock.advanceToAsync(at('2026-10-25T01:45:00Z'));
      const second = w.scheduler();
      second.start();
      await w.clock.advanceToAsync(at('2026-10-26T12:00:00Z'));
      assert.deepEqual(
        w.fires.map((f) => f.firedAt),
        ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
      );
      assert.equal(w.missed.length, 0);
    }));
});

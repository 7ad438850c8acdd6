import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import cronExtension from '../../../../extensions/cron/extension.ts';
import type { JobView, RunNowResult } from '../../../../extensions/cron/protocol.ts';
import { utilizationSkip, utilizationThreshold } from '../../../../extensions/cron/usage-skip.ts';
import { fakeUsage } from '../../../support/fake-usage.ts';
import { fakeSession, startExtension, type ExtensionFixture } from '../extension-fixture.ts';

async function waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type RecentRun = { readonly status: string; readonly detail?: string | null };

const checkedAt = '2026-12-01T12:00:00.000Z';

describe('skipping a cron fire for the subscription\'s usage', () => {
  test('above the threshold it is skipped with the reason; at or below it, with an API key or without a reading it runs', () => {
    assert.equal(
      utilizationSkip({ auth: 'subscription', fiveHour: { utilization: 81, resetsAt: '2026-12-01T15:00:00.000Z' }, checkedAt }, 80),
      'skipped: the 5-hour utilisation is 81%, above skip_above_utilization 80% (the window resets at 2026-12-01T15:00:00.000Z)',
    );
    assert.equal(utilizationSkip({ auth: 'subscription', fiveHour: { utilization: 80 }, checkedAt }, 80), undefined);
    assert.equal(utilizationSkip({ auth: 'api_key', checkedAt }, 0), undefined);
    assert.equal(utilizationSkip({ auth: 'subscription', error: 'broken', checkedAt }, 0), undefined);
    assert.equal(utilizationSkip({ auth: 'subscription', sevenDay: { utilization: 100 }, checkedAt }, 0), undefined);
  });

  test("a job's own threshold wins over cron's default; a job without one has the default, or none", () => {
    assert.equal(utilizationThreshold({ skipAboveUtilization: 90 }, { skip_above_utilization: 70 }), 90);
    assert.equal(utilizationThreshold({ skipAboveUtilization: 0 }, { skip_above_utilization: 70 }), 0);
    assert.equal(utilizationThreshold({ skipAboveUtilization: null }, { skip_above_utilization: 70 }), 70);
    assert.equal(utilizationThreshold({ skipAboveUtilization: 50 }, {}), 50);
    assert.equal(utilizationThreshold({ skipAboveUtilization: null }, {}), undefined);
  });
});

describe('a cron run above its threshold', () => {
  const usage = fakeUsage();
  let cron: ExtensionFixture<unknown>;
  before(async () => {
    cron = await startExtension(
      cronExtension(),
      { timezone: 'UTC', jobs: [{ name: 'guarded', schedule: '0 3 * * *', prompt: 'tidy up', skip_above_utilization: 60 }] },
      { usage },
    );
  });
  after(async () => {
    await cron.stop();
  });
  const job = async (): Promise<JobView> => {
    const found = (await cron.call<JobView[]>('cron.list', {})).find((j) => j.name === 'guarded');
    assert.ok(found);
    return found;
  };

  test('is recorded as skipped with the reason, and starts no session', async () => {
    usage.set({ auth: 'subscription', fiveHour: { utilization: 75 } });
    await cron.call<RunNowResult>('cron.run_now', { id: (await job()).id });
    const skipped = await waitUntil(async () => {
      const current = await job();
      return current.lastStatus === 'skipped' ? current : undefined;
    });
    const latest = skipped.recent?.[0] as RecentRun | undefined;
    assert.equal(latest?.status, 'skipped');
    assert.equal(latest?.detail, 'skipped: the 5-hour utilisation is 75%, above skip_above_utilization 60%');
    assert.ok(cron.records.some((r) => r.type === 'cron_result' && r.fields?.status === 'skipped'));
  });

  test('below it the run goes ahead (here: to the sessions this test does not give it)', async () => {
    usage.set({ auth: 'subscription', fiveHour: { utilization: 60 } });
    await cron.call<RunNowResult>('cron.run_now', { id: (await job()).id });
    const ran = await waitUntil(async () => {
      const current = await job();
      return current.lastStatus === 'error' ? current : undefined;
    });
    assert.match(ran.lastError ?? '', /sessions\./);
  });
});

describe("cron jobs' own thresholds, from the terminal and from sessions", () => {
  const usage = fakeUsage();
  let cron: ExtensionFixture<unknown>;
  before(async () => {
    cron = await startExtension(
      cronExtension(),
      { timezone: 'UTC', skip_above_utilization: 60, jobs: [{ name: 'strict', schedule: '0 3 * * *', prompt: 'tidy up', skip_above_utilization: 20 }] },
      { usage },
    );
  });
  after(async () => {
    await cron.stop();
  });
  const find = async (name: string): Promise<JobView | undefined> => (await cron.call<JobView[]>('cron.list', {})).find((j) => j.name === name);
  /** Runs a job now and answers how that run ended. */
  const runNow = async (job: JobView): Promise<{ status: string; detail: string | null }> => {
    const { run } = await cron.call<RunNowResult>('cron.run_now', { id: job.id });
    return waitUntil(async () => {
      const found = ((await find(job.name))?.recent as Array<RecentRun & { id: string }> | undefined)?.find((r) => r.id === run);
      return found && found.status !== 'running' ? { status: found.status, detail: found.detail ?? null } : undefined;
    });
  };

  test("a job from the terminal keeps its own threshold and is judged by it, not by cron's default", async () => {
    const lenient = await cron.call<JobView>('cron.create', { name: 'lenient', prompt: 'p', schedule: '0 4 * * *', skip_above_utilization: 90 });
    const cautious = await cron.call<JobView>('cron.create', { name: 'cautious', prompt: 'p', schedule: '0 4 * * *', skip_above_utilization: 40 });
    const plain = await cron.call<JobView>('cron.create', { name: 'plain', prompt: 'p', schedule: '0 4 * * *' });
    assert.deepEqual([lenient.skipAboveUtilization, cautious.skipAboveUtilization, plain.skipAboveUtilization], [90, 40, null]);
    assert.equal((await find('strict'))?.skipAboveUtilization, 20, 'a config job shows its own from config.yaml');

    usage.set({ auth: 'subscription', fiveHour: { utilization: 50 } });
    assert.deepEqual(await runNow(cautious), { status: 'skipped', detail: 'skipped: the 5-hour utilisation is 50%, above skip_above_utilization 40%' });
    assert.equal((await runNow(plain)).status, 'error', "under cron's 60% it goes ahead (to the sessions this test does not give it)");

    usage.set({ auth: 'subscription', fiveHour: { utilization: 75 } });
    assert.equal((await runNow(plain)).status, 'skipped');
    const ahead = await runNow(lenient);
    assert.equal(ahead.status, 'error', 'above the default but not above its own 90% it goes ahead');
    assert.match(ahead.detail ?? '', /sessions\./);
  });

  test('a threshold outside 0 to 100 is refused naming the field', async () => {
    for (const bad of [-1, 100.5, '80']) {
      await assert.rejects(cron.call('cron.create', { name: 'bad', prompt: 'p', schedule: '0 4 * * *', skip_above_utilization: bad }), /skip_above_utilization/);
    }
    assert.equal(await find('bad'), undefined);
  });

  test("a session may set a threshold up to cron's default, not above it", async () => {
    const session = fakeSession('ann');
    const made = await cron.call<JobView>('cron.create', { name: 'careful', prompt: 'p', schedule: '0 4 * * *', skip_above_utilization: 60 }, session);
    assert.equal(made.skipAboveUtilization, 60);
    await assert.rejects(
      cron.call('cron.create', { name: 'greedy', prompt: 'p', schedule: '0 4 * * *', skip_above_utilization: 61 }, session),
      /skip_above_utilization 61: a job made by a session may hold back sooner than cron's 60%/,
    );
  });
});

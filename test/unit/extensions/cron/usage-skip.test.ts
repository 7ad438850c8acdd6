import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import cronExtension from '../../../../extensions/cron/extension.ts';
import type { JobView, RunNowResult } from '../../../../extensions/cron/protocol.ts';
import { utilizationSkip, utilizationThreshold } from '../../../../extensions/cron/usage-skip.ts';
import { fakeUsage } from '../../../support/fake-usage.ts';
import { startExtension, type ExtensionFixture } from '../extension-fixture.ts';

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

  test("a config job's own threshold wins over cron's default; other jobs have only the default", () => {
    const config = { skip_above_utilization: 70, jobs: [{ name: 'nightly', user: 'ann', skip_above_utilization: 90 }, { name: 'plain', user: 'ann' }] };
    assert.equal(utilizationThreshold({ name: 'nightly', user: 'ann', source: 'config' }, config), 90);
    assert.equal(utilizationThreshold({ name: 'plain', user: 'ann', source: 'config' }, config), 70);
    assert.equal(utilizationThreshold({ name: 'nightly', user: 'ann', source: 'cli' }, config), 70, 'a job from the terminal with the same name is not the config job');
    assert.equal(utilizationThreshold({ name: 'nightly', user: 'bob', source: 'config' }, config), 70);
    assert.equal(utilizationThreshold({ name: 'x', user: 'ann', source: 'session' }, { jobs: [] }), undefined);
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

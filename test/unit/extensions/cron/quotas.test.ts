import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import cronExtension from '../../../../extensions/cron/extension.ts';
import { JobLimitError } from '../../../../extensions/cron/job-store.ts';
import type { JobView } from '../../../../extensions/cron/protocol.ts';
import { checkMinInterval, ScheduleTooFrequentError } from '../../../../extensions/cron/quotas.ts';
import { fakeSession, startExtension, type ExtensionFixture, invalidField } from '../extension-fixture.ts';

const NOW = Date.parse('2026-05-01T12:00:00.500Z');
const MINUTE = 60_000;

/** What checkMinInterval throws for `schedule` (UTC), or undefined when it lets it pass. */
function refusal(schedule: string, minIntervalMs = MINUTE): ScheduleTooFrequentError | undefined {
  try {
    checkMinInterval(schedule, 'UTC', minIntervalMs, NOW);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ScheduleTooFrequentError, String(error));
    return error;
  }
}


describe('cron quotas: how often a job made by a session may fire', () => {
  test('every second and every 30 seconds are refused, naming the schedule, the gap and the minimum', () => {
    const everySecond = refusal('* * * * * *');
    assert.equal(everySecond?.gapMs, 1000);
    assert.match(everySecond?.message ?? '', /^schedule "\* \* \* \* \* \*" fires 1s apart \(2026-05-01T12:00:01\.000Z and 2026-05-01T12:00:02\.000Z\)/);
    assert.match(everySecond?.message ?? '', /at most once every 1m \(cron\.min_interval\)/);
    assert.equal(everySecond?.code, 'cron_too_frequent');

    const everyThirty = refusal('*/30 * * * * *');
    assert.equal(everyThirty?.gapMs, 30_000);
    assert.match(everyThirty?.message ?? '', /^schedule "\*\/30 \* \* \* \* \*" fires 30s apart/);
    assert.equal(refusal('@secondly')?.gapMs, 1000);
  });

  test('fires a minute or more apart pass: every minute, hourly, weekdays at 9, only on 29 February', () => {
    for (const schedule of ['* * * * *', '0 * * * * *', '0 * * * *', '0 9 * * 1-5', '0 0 29 2 *', '0 0 1 1 *']) {
      assert.equal(refusal(schedule), undefined, schedule);
    }
  });

  test('two fires close together are found in a schedule that is sparse on the whole', () => {
    // At seconds 0 and 30 of minute 9 of every hour: hourly, but twice within a minute.
    assert.equal(refusal('0,30 9 * * * *')?.gapMs, 30_000);
    // At seconds 0 and 59: 59 s apart within a minute, but 1 s from one minute to the next.
    assert.equal(refusal('0,59 * * * * *')?.gapMs, 1000);
    // With a minimum of an hour, 09:00 and 09:01 every day are too close; 09:00 and 10:00 are not.
    assert.equal(refusal('0,1 9 * * *', 3_600_000)?.gapMs, MINUTE);
    assert.equal(refusal('0 9,10 * * *', 3_600_000), undefined);
  });

  test('a minimum of 0 lets every schedule pass', () => {
    assert.equal(refusal('* * * * * *', 0), undefined);
  });
});

describe('cron.create: what a session may make, and the terminal', () => {
  let cron: ExtensionFixture<unknown>;
  const alice = fakeSession('alice', { labels: { frontend: 'telegram', chat: '42' } });
  const yearly = (name: string, extra: Record<string, unknown> = {}) => ({ name, prompt: 'happy new year', schedule: '0 0 1 1 *', ...extra });
  const names = async (user: string): Promise<string[]> => (await cron.call<JobView[]>('cron.list', { user })).map((job) => job.name);

  before(async () => {
    cron = await startExtension(cronExtension(), { timezone: 'UTC', max_jobs_per_user: 2, keep_runs: 5 });
  });
  after(async () => {
    await cron.stop();
  });

  test('the defaults: fires at least 1 minute apart, 20 jobs per user, 200 runs per job', () => {
    assert.deepEqual(
      (({ min_interval, max_jobs_per_user, keep_runs }) => ({ min_interval, max_jobs_per_user, keep_runs }))(cronExtension().configSchema?.parse({}) as Record<string, unknown>),
      { min_interval: MINUTE, max_jobs_per_user: 20, keep_runs: 200 },
    );
  });

  test('a session asking for an every-second job is refused naming the minimum; nothing is stored; the terminal may make it', async () => {
    await assert.rejects(cron.call('cron.create', { name: 'spam', prompt: 'hi', schedule: '* * * * * *' }, alice), (error: unknown) => {
      assert.ok(error instanceof ScheduleTooFrequentError);
      assert.match(error.message, /fires 1s apart .* at most once every 1m \(cron\.min_interval\)/);
      return true;
    });
    await assert.rejects(cron.call('cron.create', { name: 'spam', prompt: 'hi', schedule: '*/30 * * * * *' }, alice), ScheduleTooFrequentError);
    assert.deepEqual(await names('alice'), []);

    const job = await cron.call<JobView>('cron.create', { name: 'admins-own', prompt: 'hi', schedule: '* * * * * *', user: 'alice' });
    assert.equal(job.source, 'cli');
    await cron.call('cron.delete', { id: job.id });
  });

  test('a session beyond max_jobs_per_user is refused with the limit; the terminal is not limited; deleting one makes room', async () => {
    const first = await cron.call<JobView>('cron.create', yearly('one'), alice);
    await cron.call('cron.create', { name: 'two', prompt: 'later', run_at: '+1h' }, alice);
    await assert.rejects(cron.call('cron.create', yearly('three'), alice), (error: unknown) => {
      assert.ok(error instanceof JobLimitError);
      assert.equal(error.message, 'alice already has 2 cron jobs made by sessions, the most allowed (cron.max_jobs_per_user); delete one first (cron_list shows them, cron_delete removes one)');
      return true;
    });
    assert.deepEqual(await names('alice'), ['one', 'two']);
    await cron.call('cron.create', yearly('from-terminal', { user: 'alice' }));
    await cron.call('cron.create', yearly('bobs'), fakeSession('bob'));
    await cron.call('cron.delete', { id: first.id }, alice);
    await cron.call('cron.create', yearly('three'), alice);
    assert.deepEqual(await names('alice'), ['from-terminal', 'three', 'two']);
    for (const job of await cron.call<JobView[]>('cron.list', {})) await cron.call('cron.delete', { id: job.id });
  });

  test('keep and labels are refused from a session, naming the field, and nothing is stored; the terminal may set both', async () => {
    await assert.rejects(cron.call('cron.create', yearly('kept', { keep: true }), alice), invalidField('keep', /only the terminal .* or config\.yaml/));
    await assert.rejects(cron.call('cron.create', yearly('labelled', { labels: { chat: '1' } }), alice), invalidField('labels'));
    assert.deepEqual(await names('alice'), []);
    const plain = await cron.call<JobView>('cron.create', yearly('plain', { keep: false }), alice);
    assert.equal(plain.source, 'session');

    const kept = await cron.call<JobView>('cron.create', yearly('kept', { keep: true, labels: { chat: '1' }, user: 'alice' }));
    assert.equal(kept.source, 'cli');
    for (const job of await cron.call<JobView[]>('cron.list', {})) await cron.call('cron.delete', { id: job.id });
  });

  test('a field that could not be stored, or could be stored but never run, is refused naming it; nothing is stored', async () => {
    await assert.rejects(cron.call('cron.create', yearly('x', { user: 'al\nice' })), invalidField('user', /newline/));
    await assert.rejects(cron.call('cron.create', yearly('x', { user: 'a'.repeat(129) })), invalidField('user'));
    await assert.rejects(cron.call('cron.create', yearly('x', { schedule: `0 0 1 1 *${' '.repeat(200)}` })), invalidField('schedule'));
    await assert.rejects(cron.call('cron.create', yearly('x', { prompt: 'p'.repeat(20_001) })), invalidField('prompt'));
    await assert.rejects(cron.call('cron.create', yearly('x', { run_at: `+${'1'.repeat(100)}m`, schedule: undefined })), invalidField('run_at'));
    await assert.rejects(cron.call('cron.create', yearly('x', { timezone: 'x'.repeat(101) })), invalidField('timezone'));
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    await assert.rejects(cron.call('cron.create', yearly('x', { labels: many })), invalidField('labels', /at most 32 labels/));
    await assert.rejects(cron.call('cron.create', yearly('x', { labels: { ['k'.repeat(65)]: 'v' } })), invalidField(`labels.${'k'.repeat(65)}`));
    await assert.rejects(cron.call('cron.delete', { id: 'j'.repeat(101) }), invalidField('id'));
    assert.deepEqual(await cron.call('cron.list', {}), []);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageMonitor } from '../../../../core/usage/usage-monitor.ts';
import { UsageReadError, type UsageReading, type UsageSource } from '../../../../core/usage/usage-types.ts';

/** A source whose readings the test hands out one by one. */
function scriptedSource(): UsageSource & { reads: number; answer(reading: UsageReading | Error): void } {
  const waiting: Array<(reading: UsageReading | Error) => void> = [];
  const source = {
    name: 'test',
    reads: 0,
    read(): Promise<UsageReading> {
      source.reads += 1;
      return new Promise<UsageReading>((resolve, reject) => waiting.push((r) => (r instanceof Error ? reject(r) : resolve(r))));
    },
    answer(reading: UsageReading | Error): void {
      const next = waiting.shift();
      assert.ok(next, 'no reading is waiting');
      next(reading);
    },
  };
  return source;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('UsageMonitor', () => {
  test('one reading at a time, reused while younger than the cache time, taken again after', async () => {
    let now = 1_000_000;
    const source = scriptedSource();
    const monitor = new UsageMonitor({ source: () => source, cacheMs: () => 60_000, now: () => now });
    const first = monitor.current();
    const second = monitor.current();
    await tick();
    assert.equal(source.reads, 1, 'callers during a reading share it');
    source.answer({ auth: 'subscription', fiveHour: { utilization: 10 } });
    assert.equal((await first).fiveHour?.utilization, 10);
    assert.equal(await second, await first);
    now += 59_000;
    assert.equal((await monitor.current()).fiveHour?.utilization, 10);
    assert.equal(source.reads, 1);
    const fresh = monitor.current(0);
    await tick();
    assert.equal(source.reads, 2, 'maxAgeMs 0 takes a new reading');
    source.answer({ auth: 'subscription', fiveHour: { utilization: 20 } });
    assert.equal((await fresh).fiveHour?.utilization, 20);
  });

  test('a failed reading never throws: it keeps the account, drops the utilisation, and is cached too', async () => {
    let now = 0;
    const source = scriptedSource();
    const monitor = new UsageMonitor({ source: () => source, cacheMs: () => 1000, now: () => now });
    const good = monitor.current();
    await tick();
    source.answer({ auth: 'subscription', subscriptionType: 'pro', fiveHour: { utilization: 50 } });
    await good;
    now += 2000;
    const failed = monitor.current();
    await tick();
    source.answer(new UsageReadError('test', 'it broke'));
    const snapshot = await failed;
    assert.equal(snapshot.auth, 'subscription');
    assert.equal(snapshot.subscriptionType, 'pro');
    assert.equal(snapshot.fiveHour, undefined);
    assert.match(snapshot.error ?? '', /could not read usage from test: it broke/);
    assert.equal(await monitor.current(), snapshot);
    assert.equal(source.reads, 2);
  });
});

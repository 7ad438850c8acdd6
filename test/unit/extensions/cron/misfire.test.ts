import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock, MAX_TIMER_MS } from '../../../../extensions/cron/clock.ts';
import { planMissed, planMissedOneShot } from '../../../../extensions/cron/misfire.ts';

const MINUTE = 60_000;

describe('planMissed', () => {
  const now = 100 * MINUTE;
  // Missed fires 50, 40, 30, 20 and 10 minutes ago; the grace period is 35 minutes.
  const missed = [50, 60, 70, 80, 90].map((m) => m * MINUTE);
  const grace = 35 * MINUTE;

  test('once: the fires within grace coalesce into one run, for the latest', () => {
    assert.deepEqual(planMissed('once', missed, now, grace), { run: [90 * MINUTE], skipped: [50, 60, 70, 80].map((m) => m * MINUTE) });
  });

  test('skip: nothing runs', () => {
    assert.deepEqual(planMissed('skip', missed, now, grace), { run: [], skipped: missed });
  });

  test('all: every fire within grace runs, in order; older ones are skipped', () => {
    assert.deepEqual(planMissed('all', missed, now, grace), { run: [70, 80, 90].map((m) => m * MINUTE), skipped: [50, 60].map((m) => m * MINUTE) });
  });

  test('nothing within grace: nothing runs, whatever the policy', () => {
    for (const policy of ['once', 'skip', 'all'] as const) {
      assert.deepEqual(planMissed(policy, missed, now, 5 * MINUTE), { run: [], skipped: missed });
    }
  });

  test('the grace boundary is inclusive and nothing missed means nothing to do', () => {
    assert.deepEqual(planMissed('once', [90 * MINUTE], now, 10 * MINUTE), { run: [90 * MINUTE], skipped: [] });
    assert.deepEqual(planMissed('once', [90 * MINUTE], now, 10 * MINUTE - 1), { run: [], skipped: [90 * MINUTE] });
    assert.deepEqual(planMissed('all', [], now, grace), { run: [], skipped: [] });
  });
});

describe('planMissedOneShot', () => {
  test('a one-shot job runs however late with once or all, and is skipped with skip', () => {
    const runAt = 0;
    assert.equal(planMissedOneShot(runAt, MINUTE, 10 * MINUTE, 'once'), 'run');
    assert.equal(planMissedOneShot(runAt, 1000 * MINUTE, 10 * MINUTE, 'once'), 'run');
    assert.equal(planMissedOneShot(runAt, 1000 * MINUTE, 10 * MINUTE, 'all'), 'run');
    assert.equal(planMissedOneShot(runAt, MINUTE, 10 * MINUTE, 'skip'), 'skip');
    assert.equal(planMissedOneShot(runAt, 1000 * MINUTE, 10 * MINUTE, 'skip'), 'skip');
  });
});

describe('FakeClock', () => {
  test('advance runs due timers in time order, including timers set by timers', () => {
    const clock = new FakeClock(1000);
    const seen: string[] = [];
    clock.setTimer(() => seen.push(`b@${clock.now()}`), 200);
    clock.setTimer(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimer(() => seen.push(`c@${clock.now()}`), 50);
      clock.setTimer(() => seen.push(`late@${clock.now()}`), 5000);
    }, 100);
    clock.setTimer(() => seen.push(`b2@${clock.now()}`), 200);
    clock.advance(300);
    assert.deepEqual(seen, ['a@1100', 'c@1150', 'b@1200', 'b2@1200']);
    assert.equal(clock.now(), 1300);
    assert.equal(clock.pendingTimers(), 1);
    assert.equal(clock.nextTimerAt(), 6100);
  });

  test('a cancelled timer does not run; delays beyond a Node timer are refused', () => {
    const clock = new FakeClock(0);
    let ran = false;
    clock.setTimer(() => (ran = true), 10).cancel();
    clock.advance(100);
    assert.equal(ran, false);
    assert.equal(clock.pendingTimers(), 0);
    assert.throws(() => clock.setTimer(() => undefined, MAX_TIMER_MS + 1), RangeError);
  });

  test('advanceAsync lets promises settle between timers', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    clock.setTimer(() => {
      void Promise.resolve().then(() => seen.push('settled'));
      seen.push('first');
    }, 10);
    clock.setTimer(() => seen.push('second'), 20);
    await clock.advanceAsync(30);
    assert.deepEqual(seen, ['first', 'settled', 'second']);
  });
});

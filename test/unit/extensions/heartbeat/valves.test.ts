import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addNote,
  addTick,
  backoffDelay,
  checkUtilization,
  checkValves,
  deferFindings,
  initialState,
  isQuietTime,
  localDay,
  nextDayStart,
  recordDecisionCost,
  recordRun,
  rollDay,
  takeDeferredFindings,
  UTILIZATION_RETRY_MS,
  validateValveConfig,
  ValveConfigError,
  type HeartbeatState,
  type ValveCheck,
  type ValveConfig,
} from '../../../../extensions/heartbeat/valves.ts';
import type { UsageSnapshot } from '../../../../core/usage/usage-types.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (iso: string): number => {
  const t = Date.parse(iso);
  assert.ok(Number.isFinite(t), `bad test time ${iso}`);
  return t;
};

/** Valves that never block, so each test turns on only the one it is about. */
function config(overrides: Partial<ValveConfig> = {}): ValveConfig {
  return {
    minIntervalMs: 0,
    maxRunsPerDay: 1_000,
    dailyBudgetUsd: 1_000,
    timezone: 'UTC',
    backoffBaseMs: 0,
    backoffMaxMs: 0,
    ...overrides,
  };
}

function state(now: number, timezone: string, overrides: Partial<HeartbeatState> = {}): HeartbeatState {
  return { ...initialState(now, timezone), ...overrides };
}

function blocked(check: ValveCheck): Extract<ValveCheck, { ok: false }> {
  assert.equal(check.ok, false, 'expected a valve to block');
  return check as Extract<ValveCheck, { ok: false }>;
}

describe('local day and rollDay', () => {
  test('the day is the date in the configured timezone, not in UTC', () => {
    const t = at('2025-01-15T23:30:00Z');
    assert.equal(localDay(t, 'UTC'), '2025-01-15');
    assert.equal(localDay(t, 'Europe/Paris'), '2025-01-16');
    assert.equal(localDay(t, 'America/Los_Angeles'), '2025-01-15');
  });

  test('a new local day resets the run count and the cost, and keeps the rest', () => {
    const tz = 'Europe/Paris';
    const s = state(at('2025-01-15T12:00:00Z'), tz, { runsToday: 4, costToday: 2.5, consecutiveFailures: 2, lastRunAt: 5, notes: ['n'] });
    assert.equal(rollDay(s, at('2025-01-15T22:59:00Z'), tz), s, 'same local day: unchanged');
    const next = rollDay(s, at('2025-01-15T23:00:00Z'), tz);
    assert.equal(next.day, '2025-01-16');
    assert.equal(next.runsToday, 0);
    assert.equal(next.costToday, 0);
    assert.equal(next.consecutiveFailures, 2);
    assert.equal(next.lastRunAt, 5);
    assert.deepEqual(next.notes, ['n']);
    assert.equal(s.runsToday, 4, 'the input is not mutated');
  });
});

describe('budget valve', () => {
  const tz = 'America/Los_Angeles';
  const cfg = config({ dailyBudgetUsd: 1, timezone: tz });
  const noon = at('2025-01-15T20:00:00Z'); // 12:00 in Los Angeles

  test('lets decisions and runs through while under budget', () => {
    const s = state(noon, tz, { costToday: 0.99 });
    assert.deepEqual(checkValves(s, cfg, noon, 'decision'), { ok: true });
    assert.deepEqual(checkValves(s, cfg, noon, 'run'), { ok: true });
  });

  test('once spent, blocks decisions and runs until local midnight', () => {
    let s = state(noon, tz);
    s = recordDecisionCost(s, 0.25);
    s = recordRun(s, { now: noon, costUsd: 0.75, outcome: 'success' });
    assert.equal(s.costToday, 1);
    const localMidnight = at('2025-01-16T08:00:00Z');
    for (const stage of ['decision', 'run'] as const) {
      const check = blocked(checkValves(s, cfg, noon + HOUR, stage));
      assert.equal(check.valve, 'budget');
      assert.equal(check.retryAt, localMidnight);
      assert.match(check.reason, /\$1\.00/);
    }
    // UTC midnight has passed, but it is still the 15th in Los Angeles.
    assert.equal(blocked(checkValves(s, cfg, at('2025-01-16T02:00:00Z'), 'decision')).valve, 'budget');
    assert.equal(blocked(checkValves(s, cfg, localMidnight - 1, 'run')).valve, 'budget');
    assert.deepEqual(checkValves(s, cfg, localMidnight, 'decision'), { ok: true });
    assert.deepEqual(checkValves(s, cfg, localMidnight, 'run'), { ok: true });
  });

  test('negative or invalid costs are not counted', () => {
    let s = state(noon, tz);
    s = recordDecisionCost(s, Number.NaN);
    s = recordDecisionCost(s, -3);
    s = recordRun(s, { now: noon, costUsd: Number.POSITIVE_INFINITY, outcome: 'success' });
    assert.equal(s.costToday, 0);
  });

  test('the next local day starts after 23 hours on the day clocks go forward', () => {
    const tzParis = 'Europe/Paris';
    // 2025-03-30: 02:00 CET becomes 03:00 CEST. Midnight after is 22:00Z.
    assert.equal(nextDayStart(at('2025-03-30T10:00:00Z'), tzParis), at('2025-03-30T22:00:00Z'));
    // The day before: midnight CET is 23:00Z.
    assert.equal(nextDayStart(at('2025-03-29T10:00:00Z'), tzParis), at('2025-03-29T23:00:00Z'));
  });
});

describe('min interval valve', () => {
  const cfg = config({ minIntervalMs: HOUR });
  const last = at('2025-06-01T10:00:00Z');

  test('blocks until the interval since the last run has passed', () => {
    const s = state(last, 'UTC', { lastRunAt: last, runsToday: 1 });
    const check = blocked(checkValves(s, cfg, last + HOUR - 1, 'run'));
    assert.equal(check.valve, 'min_interval');
    assert.equal(check.retryAt, last + HOUR);
    assert.equal(blocked(checkValves(s, cfg, last + 10 * MINUTE, 'decision')).valve, 'min_interval', 'no decision is paid for a run that could not happen');
    assert.deepEqual(checkValves(s, cfg, last + HOUR, 'run'), { ok: true });
  });

  test('does not block before any run', () => {
    assert.deepEqual(checkValves(state(last, 'UTC'), cfg, last, 'run'), { ok: true });
  });
});

describe('max runs per day valve', () => {
  const tz = 'Europe/Paris';
  const cfg = config({ maxRunsPerDay: 2, timezone: tz });

  test('blocks the run after the limit until the next local day', () => {
    const t = at('2025-01-15T08:00:00Z');
    let s = state(t, tz);
    s = recordRun(s, { now: t, costUsd: 0, outcome: 'success' });
    assert.deepEqual(checkValves(s, cfg, t + HOUR, 'run'), { ok: true });
    s = recordRun(s, { now: t + HOUR, costUsd: 0, outcome: 'success' });
    const check = blocked(checkValves(s, cfg, t + 2 * HOUR, 'run'));
    assert.equal(check.valve, 'max_runs_per_day');
    assert.equal(check.retryAt, at('2025-01-15T23:00:00Z'));
    assert.deepEqual(checkValves(s, cfg, at('2025-01-15T23:00:00Z'), 'run'), { ok: true });
  });

  test('recordRun with a timezone counts the run toward the day it ended on', () => {
    const s = state(at('2025-01-15T12:00:00Z'), tz, { runsToday: 2, costToday: 5 });
    const next = recordRun(s, { now: at('2025-01-15T23:10:00Z'), costUsd: 0.5, outcome: 'success', timezone: tz });
    assert.equal(next.day, '2025-01-16');
    assert.equal(next.runsToday, 1);
    assert.equal(next.costToday, 0.5);
  });
});

describe('quiet hours valve', () => {
  const tz = 'Europe/Paris';
  const cfg = config({ timezone: tz, quietHours: { start: '22:00', end: '07:00' } });
  const s = state(at('2025-01-15T12:00:00Z'), tz);

  test('wrapping midnight: quiet from start (inclusive) to end (exclusive), local time', () => {
    // Paris is UTC+1 in January.
    const cases: Array<[string, boolean]> = [
      ['2025-01-15T20:59:00Z', false], // 21:59
      ['2025-01-15T21:00:00Z', true], // 22:00
      ['2025-01-15T23:30:00Z', true], // 00:30
      ['2025-01-16T02:00:00Z', true], // 03:00
      ['2025-01-16T05:59:00Z', true], // 06:59
      ['2025-01-16T06:00:00Z', false], // 07:00
      ['2025-01-16T11:00:00Z', false], // 12:00
    ];
    for (const [iso, quiet] of cases) {
      const check = checkValves(s, cfg, at(iso), 'run');
      if (quiet) assert.equal(blocked(check).valve, 'quiet_hours', iso);
      else assert.deepEqual(check, { ok: true }, iso);
    }
  });

  test('blocks decisions too, and says when the quiet hours end', () => {
    const check = blocked(checkValves(s, cfg, at('2025-01-15T22:00:00Z'), 'decision'));
    assert.equal(check.valve, 'quiet_hours');
    assert.equal(check.retryAt, at('2025-01-16T06:00:00Z'));
    assert.match(check.reason, /kept/);
  });

  test('not wrapping midnight', () => {
    const quiet = { start: '12:00', end: '13:30' };
    assert.equal(isQuietTime(at('2025-01-15T10:59:00Z'), quiet, tz), false);
    assert.equal(isQuietTime(at('2025-01-15T11:00:00Z'), quiet, tz), true);
    assert.equal(isQuietTime(at('2025-01-15T12:29:00Z'), quiet, tz), true);
    assert.equal(isQuietTime(at('2025-01-15T12:30:00Z'), quiet, tz), false);
    assert.equal(isQuietTime(at('2025-01-15T23:30:00Z'), quiet, tz), false);
  });

  test('across the nights the clocks change', () => {
    // Spring: 23:00 CET on the 29th; the quiet hours end at 07:00 CEST = 05:00Z.
    assert.equal(blocked(checkValves(s, cfg, at('2025-03-29T22:00:00Z'), 'run')).retryAt, at('2025-03-30T05:00:00Z'));
    // Autumn: 23:00 CEST on the 25th; they end at 07:00 CET = 06:00Z.
    assert.equal(blocked(checkValves(s, cfg, at('2025-10-25T21:00:00Z'), 'run')).retryAt, at('2025-10-26T06:00:00Z'));
    assert.equal(isQuietTime(at('2025-10-26T05:59:00Z'), cfg.quietHours!, tz), true);
    assert.equal(isQuietTime(at('2025-10-26T06:00:00Z'), cfg.quietHours!, tz), false);
  });

  test('an end time the clocks skip ends the quiet hours when the clock jumps past it', () => {
    // New York, 2025-03-09: 01:59 EST (06:59Z) is followed by 03:00 EDT (07:00Z); 02:30 never happens.
    const ny = config({ timezone: 'America/New_York', quietHours: { start: '01:00', end: '02:30' } });
    const check = blocked(checkValves(state(at('2025-03-09T06:30:00Z'), 'America/New_York'), ny, at('2025-03-09T06:30:00Z'), 'run'));
    assert.equal(check.retryAt, at('2025-03-09T07:00:00Z'));
  });
});

describe('backoff valve', () => {
  const cfg = config({ backoffBaseMs: MINUTE, backoffMaxMs: 10 * MINUTE, minIntervalMs: 1_000 });
  const t0 = at('2025-06-01T10:00:00Z');

  test('the delay doubles per unproductive run and is capped', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 50, 5_000].map((n) => backoffDelay(n, cfg)),
      [0, MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE, 10 * MINUTE, 10 * MINUTE, 10 * MINUTE, 10 * MINUTE],
    );
  });

  test('after n failures the next run waits base * 2^(n-1) since the last run', () => {
    let s = state(t0, 'UTC');
    let now = t0;
    for (const expected of [MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE, 10 * MINUTE, 10 * MINUTE]) {
      s = recordRun(s, { now, costUsd: 0.01, outcome: 'failure' });
      const check = blocked(checkValves(s, cfg, now + expected - 1, 'run'));
      assert.equal(check.valve, 'backoff');
      assert.equal(check.retryAt, now + expected);
      assert.deepEqual(checkValves(s, cfg, now + expected, 'run'), { ok: true });
      now += expected;
    }
    assert.equal(s.consecutiveFailures, 6);
  });

  test('runs that did nothing back off too, together with failures', () => {
    let s = state(t0, 'UTC');
    s = recordRun(s, { now: t0, costUsd: 0, outcome: 'noop' });
    s = recordRun(s, { now: t0, costUsd: 0, outcome: 'failure' });
    s = recordRun(s, { now: t0, costUsd: 0, outcome: 'noop' });
    const check = blocked(checkValves(s, cfg, t0 + 3 * MINUTE, 'decision'));
    assert.equal(check.valve, 'backoff');
    assert.equal(check.retryAt, t0 + 4 * MINUTE);
    assert.match(check.reason, /1 failed and 2 idle runs/);
  });

  test('a useful run resets it', () => {
    let s = state(t0, 'UTC');
    for (let i = 0; i < 4; i++) s = recordRun(s, { now: t0, costUsd: 0, outcome: i % 2 ? 'noop' : 'failure' });
    assert.equal(blocked(checkValves(s, cfg, t0 + 5 * MINUTE, 'run')).valve, 'backoff');
    s = recordRun(s, { now: t0 + 10 * MINUTE, costUsd: 0, outcome: 'success' });
    assert.equal(s.consecutiveFailures, 0);
    assert.equal(s.consecutiveNoops, 0);
    assert.deepEqual(checkValves(s, cfg, t0 + 10 * MINUTE + 1_000, 'run'), { ok: true });
  });

  test('a backoff shorter than the minimum interval gives way to it', () => {
    const s = recordRun(state(t0, 'UTC'), { now: t0, costUsd: 0, outcome: 'failure' });
    const check = blocked(checkValves(s, config({ backoffBaseMs: MINUTE, backoffMaxMs: HOUR, minIntervalMs: 5 * MINUTE }), t0 + 2 * MINUTE, 'run'));
    assert.equal(check.valve, 'min_interval');
    assert.equal(check.retryAt, t0 + 5 * MINUTE);
  });
});

describe('pause', () => {
  const t0 = at('2025-06-01T10:00:00Z');

  test('blocks everything until it expires, before any other valve', () => {
    const s = state(t0, 'UTC', { pausedUntil: t0 + HOUR, costToday: 99 });
    for (const stage of ['decision', 'run'] as const) {
      const check = blocked(checkValves(s, config({ dailyBudgetUsd: 100 }), t0, stage));
      assert.equal(check.valve, 'paused');
      assert.equal(check.retryAt, t0 + HOUR);
    }
    assert.deepEqual(checkValves(s, config({ dailyBudgetUsd: 100 }), t0 + HOUR, 'run'), { ok: true });
  });

  test('retryAt is when every valve blocking now has let go', () => {
    const s = state(t0, 'UTC', { pausedUntil: t0 + HOUR, costToday: 5 });
    const check = blocked(checkValves(s, config({ dailyBudgetUsd: 5 }), t0, 'run'));
    assert.equal(check.valve, 'paused');
    assert.equal(check.retryAt, at('2025-06-02T00:00:00Z'), 'the budget holds out longer than the pause');
  });
});

describe('state bookkeeping', () => {
  const t0 = at('2025-06-01T10:00:00Z');

  test('addTick keeps the newest records', () => {
    let s = state(t0, 'UTC');
    for (let i = 0; i < 5; i++) s = addTick(s, { at: t0 + i, outcome: 'gated_out' }, 3);
    assert.deepEqual(
      s.log.map((r) => r.at),
      [t0 + 2, t0 + 3, t0 + 4],
    );
  });

  test('deferred findings merge by source and summary and can be taken back', () => {
    let s = state(t0, 'UTC');
    s = deferFindings(s, [{ source: 'files', summary: 'files changed', details: ['/a'] }]);
    s = deferFindings(s, [
      { source: 'command', summary: 'disk almost full' },
      { source: 'files', summary: 'files changed', details: ['/a', '/b'] },
    ]);
    assert.deepEqual(s.deferredFindings, [
      { source: 'command', summary: 'disk almost full' },
      { source: 'files', summary: 'files changed', details: ['/a', '/b'] },
    ]);
    const capped = deferFindings(s, [{ source: 'pending', summary: 'x' }], 2);
    assert.deepEqual(
      capped.deferredFindings.map((f) => f.summary),
      ['files changed', 'x'],
    );
    const taken = takeDeferredFindings(s);
    assert.equal(taken.findings.length, 2);
    assert.deepEqual(taken.state.deferredFindings, []);
  });

  test('notes are trimmed, blank ones ignored, the oldest dropped', () => {
    let s = state(t0, 'UTC');
    s = addNote(s, '  ', 2);
    for (const note of [' one ', 'two', 'three']) s = addNote(s, note, 2);
    assert.deepEqual(s.notes, ['two', 'three']);
  });
});

describe('validateValveConfig', () => {
  test('accepts a sensible configuration', () => {
    assert.doesNotThrow(() => validateValveConfig(config({ timezone: 'Europe/Paris', quietHours: { start: '22:00', end: '07:00' } })));
  });

  test('names the invalid key', () => {
    const cases: Array<[Partial<ValveConfig>, string]> = [
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ quietHours: { start: '25:00', end: '07:00' } }, 'quietHours.start'],
      [{ quietHours: { start: '22:00', end: '7:00' } }, 'quietHours.end'],
      [{ quietHours: { start: '22:00', end: '22:00' } }, 'quietHours'],
      [{ maxRunsPerDay: 1.5 }, 'maxRunsPerDay'],
      [{ dailyBudgetUsd: -1 }, 'dailyBudgetUsd'],
      [{ backoffBaseMs: 10, backoffMaxMs: 5 }, 'backoffMaxMs'],
    ];
    for (const [overrides, key] of cases) {
      assert.throws(
        () => validateValveConfig(config(overrides)),
        (error: unknown) => error instanceof ValveConfigError && error.key === key,
        key,
      );
    }
  });
});

describe('the utilisation valve', () => {
  const now = at('2026-12-01T12:00:00Z');
  const resetsAt = '2026-12-01T14:00:00.000Z';
  const subscription = (utilization: number, reset: string | null = resetsAt): UsageSnapshot => ({
    auth: 'subscription',
    subscriptionType: 'max',
    fiveHour: { utilization, ...(reset ? { resetsAt: reset } : {}) },
    sevenDay: { utilization: 99 },
    checkedAt: new Date(now).toISOString(),
  });
  const withValve = config({ maxUtilization: 80 });

  test('above the threshold it holds decisions and runs until the 5-hour window resets', () => {
    for (const stage of ['decision', 'run'] as const) {
      const check = blocked(checkValves(state(now, 'UTC'), withValve, now, stage, subscription(85)));
      assert.equal(check.valve, 'max_utilization');
      assert.equal(check.reason, `${stage === 'decision' ? 'no decision' : 'no run'}: 5-hour utilisation 85% is above max_utilization 80%; the window resets at ${resetsAt}`);
      assert.equal(check.retryAt, at(resetsAt));
    }
    const unknownReset = blocked(checkValves(state(now, 'UTC'), withValve, now, 'run', subscription(80.5, null)));
    assert.equal(unknownReset.retryAt, now + UTILIZATION_RETRY_MS, 'no reset time: it looks again later');
  });

  test('at or below the threshold it does not hold, and says what it saw; only the 5-hour window counts', () => {
    assert.deepEqual(checkValves(state(now, 'UTC'), withValve, now, 'run', subscription(80)), { ok: true });
    assert.deepEqual(checkUtilization(subscription(12.25), 80, now), { hold: false, reason: '5-hour utilisation 12.3% (max_utilization 80%)' });
  });

  test('an API key, an unknown account, a failed reading or a reading without a 5-hour window never hold, and say why', () => {
    const base = { checkedAt: new Date(now).toISOString() };
    const cases: Array<[UsageSnapshot, RegExp]> = [
      [{ ...base, auth: 'api_key' }, /^API key: no subscription limits, not held$/],
      [{ ...base, auth: 'unknown' }, /^unknown account: utilisation not held$/],
      [{ ...base, auth: 'subscription', error: 'could not read usage from the claude CLI (get_usage): no answer' }, /^utilisation unknown, not held \(could not read usage/],
      [{ ...base, auth: 'subscription', sevenDay: { utilization: 100 } }, /^no 5-hour utilisation reported, not held$/],
    ];
    for (const [usage, reason] of cases) {
      assert.deepEqual(checkValves(state(now, 'UTC'), withValve, now, 'run', usage), { ok: true }, usage.auth);
      const check = checkUtilization(usage, 80, now);
      assert.equal(check.hold, false);
      assert.match(check.reason, reason);
    }
  });

  test('switched off, or without a reading, it never holds; the threshold must be a percentage', () => {
    assert.deepEqual(checkValves(state(now, 'UTC'), config(), now, 'run', subscription(100)), { ok: true });
    assert.deepEqual(checkValves(state(now, 'UTC'), withValve, now, 'run'), { ok: true });
    assert.throws(() => validateValveConfig(config({ maxUtilization: 101 })), /maxUtilization: must be a percentage from 0 to 100/);
    assert.doesNotThrow(() => validateValveConfig(config({ maxUtilization: 0 })));
  });

  test('with another valve blocking too, the retry time is when both let go', () => {
    const check = blocked(checkValves(state(now, 'UTC', { runsToday: 5 }), config({ maxUtilization: 80, maxRunsPerDay: 5 }), now, 'run', subscription(90)));
    assert.equal(check.valve, 'max_utilization');
    assert.equal(check.retryAt, at('2026-12-02T00:00:00Z'));
  });
});

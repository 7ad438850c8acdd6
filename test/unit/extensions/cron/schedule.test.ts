import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CronExpressionParser } from 'cron-parser';
import {
  CronScheduleError,
  defaultTimezone,
  firesBetween,
  isValidTimezone,
  latestFiresBetween,
  nextFireAfter,
  parseCron,
  parseRunAt,
} from '../../../../extensions/cron/schedule.ts';

const at = (text: string): number => Date.parse(text);
const iso = (time: number): string => new Date(time).toISOString();
const HOUR = 3_600_000;

/** The wall time of `time` in `timezone`, as `YYYY-MM-DD HH:MM`. */
function wall(time: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(time));
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '?';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

function parserMessage(expr: string): string {
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`the parser accepted ${expr}`);
}

describe('parseCron', () => {
  test('accepts 5-field, 6-field (seconds first) and @ aliases', () => {
    assert.deepEqual(parseCron('*/5 * * * *', 'UTC'), { ok: true });
    assert.deepEqual(parseCron('0 30 9 * * 1-5', 'Europe/Berlin'), { ok: true });
    assert.deepEqual(parseCron('@daily', 'UTC'), { ok: true });
    assert.deepEqual(parseCron('  0 9 * * *  ', 'UTC'), { ok: true });
  });

  test("a malformed expression is rejected with the parser's own reason", () => {
    for (const expr of ['61 * * * *', '*/0 * * * *', '5-2 * * * *', '0 0 30 2 *', 'a b c d e', '@often']) {
      const result = parseCron(expr, 'UTC');
      assert.equal(result.ok, false, expr);
      if (!result.ok) {
        assert.ok(result.reason.includes(parserMessage(expr)), `${expr}: ${result.reason}`);
        assert.ok(result.reason.includes(expr), result.reason);
      }
    }
  });

  test('a wrong number of fields or an empty expression is rejected', () => {
    const three = parseCron('* * *', 'UTC');
    assert.equal(three.ok, false);
    if (!three.ok) assert.match(three.reason, /has 3 fields; expected 5 .* or 6/);
    const seven = parseCron('* * * * * * *', 'UTC');
    assert.equal(seven.ok, false);
    const empty = parseCron('   ', 'UTC');
    assert.equal(empty.ok, false);
    if (!empty.ok) assert.match(empty.reason, /empty/);
  });

  test('an unknown timezone is rejected by name', () => {
    const result = parseCron('0 9 * * *', 'Mars/Olympus_Mons');
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /unknown timezone "Mars\/Olympus_Mons".*IANA/);
    assert.equal(parseCron('0 9 * * *', '').ok, false);
    assert.equal(isValidTimezone('Europe/Berlin'), true);
    assert.equal(isValidTimezone('+01:00'), false);
  });

  test('defaultTimezone is the machine timezone and valid', () => {
    const zone = defaultTimezone();
    assert.equal(isValidTimezone(zone), true);
    const machine = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (isValidTimezone(machine)) assert.equal(zone, machine);
  });
});

describe('nextFireAfter and firesBetween', () => {
  test('the next fire is strictly after the given time, to the millisecond', () => {
    assert.equal(iso(nextFireAfter('0 9 * * *', 'UTC', at('2026-01-01T09:00:00.000Z')) ?? 0), '2026-01-02T09:00:00.000Z');
    assert.equal(iso(nextFireAfter('0 9 * * *', 'UTC', at('2026-01-01T08:59:59.999Z')) ?? 0), '2026-01-01T09:00:00.000Z');
    assert.equal(iso(nextFireAfter('0 9 * * *', 'UTC', at('2026-01-01T09:00:00.001Z')) ?? 0), '2026-01-02T09:00:00.000Z');
    assert.equal(iso(nextFireAfter('* * * * * *', 'UTC', at('2026-01-01T09:00:00.001Z')) ?? 0), '2026-01-01T09:00:01.000Z');
  });

  test('the expression is read in the job timezone', () => {
    assert.equal(iso(nextFireAfter('0 9 * * *', 'America/New_York', at('2026-01-05T00:00:00Z')) ?? 0), '2026-01-05T14:00:00.000Z');
    assert.equal(iso(nextFireAfter('0 9 * * *', 'Asia/Tokyo', at('2026-01-05T01:00:00Z')) ?? 0), '2026-01-06T00:00:00.000Z');
  });

  test('an invalid expression or timezone throws CronScheduleError with the reason', () => {
    assert.throws(() => nextFireAfter('61 * * * *', 'UTC', 0), (error: unknown) => error instanceof CronScheduleError && /expected range/.test(error.message));
    assert.throws(() => firesBetween('* * * * *', 'Nowhere/Land', 0, 1, 1), CronScheduleError);
  });

  test('firesBetween is (from, to], ascending, and stops at the limit', () => {
    const from = at('2026-01-01T00:00:00Z');
    const fires = firesBetween('*/15 * * * *', 'UTC', from, from + HOUR, 10);
    assert.deepEqual(fires.map(iso), [
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T00:45:00.000Z',
      '2026-01-01T01:00:00.000Z',
    ]);
    assert.equal(firesBetween('*/15 * * * *', 'UTC', from, from + HOUR, 2).length, 2);
    assert.deepEqual(firesBetween('*/15 * * * *', 'UTC', from, from, 5), []);
  });

  test('latestFiresBetween gives the tail of the forward sequence, also across DST switches', () => {
    const cases: [string, string, string, string][] = [
      ['30 2 * * *', 'Europe/Berlin', '2026-03-20T00:00:00Z', '2026-04-02T00:00:00Z'],
      ['30 2 * * *', 'Europe/Berlin', '2026-10-20T00:00:00Z', '2026-10-28T00:00:00Z'],
      ['*/30 * * * *', 'Europe/Berlin', '2026-10-24T20:00:00Z', '2026-10-25T06:00:00Z'],
      ['0 9 * * *', 'America/New_York', '2026-03-01T00:00:00Z', '2026-03-15T00:00:00Z'],
      ['30 2,3 * * *', 'Europe/Berlin', '2026-03-27T00:00:00Z', '2026-03-29T01:45:00Z'],
      ['*/20 2 * * *', 'Europe/Berlin', '2026-03-27T00:00:00Z', '2026-03-29T02:10:00Z'],
    ];
    for (const [expr, zone, from, to] of cases) {
      const all = firesBetween(expr, zone, at(from), at(to), 10_000);
      for (const limit of [1, 3, 5, all.length - 1, all.length, all.length + 5]) {
        const latest = latestFiresBetween(expr, zone, at(from), at(to), limit);
        assert.deepEqual(latest.fires.map(iso), all.slice(-limit).map(iso), `${expr} ${zone} limit ${limit}`);
        assert.equal(latest.omitted, all.length > limit);
      }
    }
  });

  test('latestFiresBetween stays cheap over a very long range', () => {
    const from = at('2026-01-01T00:00:00Z');
    const to = from + 30 * 24 * HOUR;
    const started = performance.now();
    const latest = latestFiresBetween('* * * * * *', 'UTC', from, to, 100);
    assert.ok(performance.now() - started < 2000);
    assert.equal(latest.omitted, true);
    assert.equal(latest.fires.length, 100);
    assert.equal(latest.fires.at(-1), to);
    assert.equal(latest.fires[0], to - 99_000);
  });
});

describe('daylight saving time (Europe/Berlin, 2026)', () => {
  const zone = 'Europe/Berlin';

  test('spring forward: 02:30 does not exist on 2026-03-29 and fires once, at 03:30 local', () => {
    const fires = firesBetween('30 2 * * *', zone, at('2026-03-27T00:00:00Z'), at('2026-03-31T00:00:00Z'), 10);
    assert.deepEqual(fires.map(iso), [
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    assert.deepEqual(
      fires.map((time) => wall(time, zone)),
      ['2026-03-27 02:30', '2026-03-28 02:30', '2026-03-29 03:30', '2026-03-30 02:30'],
    );
  });

  test('fall back: 02:30 happens twice on 2026-10-25 and fires once, at the first', () => {
    const fires = firesBetween('30 2 * * *', zone, at('2026-10-23T00:00:00Z'), at('2026-10-27T00:00:00Z'), 10);
    assert.deepEqual(fires.map(iso), [
      '2026-10-23T00:30:00.000Z',
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    const onSwitchDay = fires.filter((time) => wall(time, zone).startsWith('2026-10-25'));
    assert.equal(onSwitchDay.length, 1);
    assert.equal(nextFireAfter('30 2 * * *', zone, at('2026-10-25T00:30:00Z')), at('2026-10-26T01:30:00Z'));
  });

  test('a daily 09:00 job fires at 09:00 local on both sides of each switch: 23 h and 25 h apart', () => {
    const spring = firesBetween('0 9 * * *', zone, at('2026-03-27T12:00:00Z'), at('2026-03-30T12:00:00Z'), 10);
    assert.deepEqual(spring.map((time) => wall(time, zone)), ['2026-03-28 09:00', '2026-03-29 09:00', '2026-03-30 09:00']);
    assert.deepEqual([(spring[1] ?? 0) - (spring[0] ?? 0), (spring[2] ?? 0) - (spring[1] ?? 0)], [23 * HOUR, 24 * HOUR]);

    const autumn = firesBetween('0 9 * * *', zone, at('2026-10-23T12:00:00Z'), at('2026-10-26T12:00:00Z'), 10);
    assert.deepEqual(autumn.map((time) => wall(time, zone)), ['2026-10-24 09:00', '2026-10-25 09:00', '2026-10-26 09:00']);
    assert.deepEqual([(autumn[1] ?? 0) - (autumn[0] ?? 0), (autumn[2] ?? 0) - (autumn[1] ?? 0)], [25 * HOUR, 24 * HOUR]);
  });

  test('an hourly job keeps firing every real hour through both switches', () => {
    for (const [from, to, hours] of [
      ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', 23],
      ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', 25],
    ] as const) {
      const fires = firesBetween('0 * * * *', zone, at(from), at(to), 100);
      assert.equal(fires.length, hours);
      for (let i = 1; i < fires.length; i++) assert.equal((fires[i] ?? 0) - (fires[i - 1] ?? 0), HOUR);
    }
  });
});

describe('parseRunAt', () => {
  const now = at('2026-05-01T12:00:00Z');

  test('relative times', () => {
    assert.deepEqual(parseRunAt('+20m', now), { ok: true, at: now + 20 * 60_000 });
    assert.deepEqual(parseRunAt('+1h30m', now), { ok: true, at: now + 90 * 60_000 });
    assert.deepEqual(parseRunAt('+45s', now), { ok: true, at: now + 45_000 });
    assert.deepEqual(parseRunAt('+2d', now), { ok: true, at: now + 48 * HOUR });
    assert.deepEqual(parseRunAt(' +1d2h3m4s ', now), { ok: true, at: now + 26 * HOUR + 3 * 60_000 + 4000 });
  });

  test('absolute ISO 8601 with Z or an offset', () => {
    assert.deepEqual(parseRunAt('2026-05-02T09:00:00Z', now), { ok: true, at: at('2026-05-02T09:00:00Z') });
    assert.deepEqual(parseRunAt('2026-05-02T09:00:00+02:00', now), { ok: true, at: at('2026-05-02T07:00:00Z') });
    assert.deepEqual(parseRunAt('2026-05-02T09:00-0530', now), { ok: true, at: at('2026-05-02T14:30:00Z') });
    assert.deepEqual(parseRunAt('2026-05-02 09:00:00.250Z', now), { ok: true, at: at('2026-05-02T09:00:00.250Z') });
  });

  test('a time without an offset is a wall time in the given timezone', () => {
    assert.deepEqual(parseRunAt('2026-05-02T09:00', now, 'Europe/Berlin'), { ok: true, at: at('2026-05-02T07:00:00Z') });
    assert.deepEqual(parseRunAt('2026-12-02T09:00:00', now, 'Europe/Berlin'), { ok: true, at: at('2026-12-02T08:00:00Z') });
    assert.deepEqual(parseRunAt('2026-05-02T09:00', now, 'America/Los_Angeles'), { ok: true, at: at('2026-05-02T16:00:00Z') });
    // A wall time skipped by spring forward moves forward by the gap; a repeated one takes its first occurrence.
    const early = at('2026-01-01T00:00:00Z');
    assert.deepEqual(parseRunAt('2026-03-29T02:30', early, 'Europe/Berlin'), { ok: true, at: at('2026-03-29T01:30:00Z') });
    assert.deepEqual(parseRunAt('2026-10-25T02:30', early, 'Europe/Berlin'), { ok: true, at: at('2026-10-25T00:30:00Z') });
  });

  test('past times are rejected', () => {
    const past = parseRunAt('2026-05-01T11:59:59Z', now);
    assert.equal(past.ok, false);
    if (!past.ok) assert.match(past.reason, /in the past/);
    assert.equal(parseRunAt('+0m', now).ok, false);
    assert.equal(parseRunAt('2026-05-01T12:00:00Z', now).ok, false);
  });

  test('nonsense is rejected with a hint', () => {
    for (const text of ['', '+', 'tomorrow', '+5x', '+1m2h', '-20m', '20m', '2026-05-02', '2026-13-01T09:00Z', '2026-02-30T09:00Z', '2026-05-02T24:00Z', '2026-05-02T09:60Z', '2026-05-02T09:00+25:00']) {
      const result = parseRunAt(text, now);
      assert.equal(result.ok, false, text);
    }
    const hint = parseRunAt('tomorrow', now);
    if (!hint.ok) assert.match(hint.reason, /ISO 8601.*\+20m/);
    const huge = parseRunAt('+99999999999999d', now);
    assert.equal(huge.ok, false);
    const zone = parseRunAt('2026-05-02T09:00', now, 'Nowhere/Land');
    assert.equal(zone.ok, false);
    if (!zone.ok) assert.match(zone.reason, /unknown timezone/);
  });
});

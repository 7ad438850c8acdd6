import { CronExpressionParser, type CronExpression } from 'cron-parser';

/**
 * Cron expressions and one-shot times, evaluated in an IANA timezone.
 *
 * Daylight saving time (what cron-parser does, checked by test/unit/cron-schedule.test.ts):
 * - A wall time that does not exist (spring forward, e.g. 02:30 in Europe/Berlin on 2026-03-29) fires
 *   once, shifted forward by the gap (03:30 local): the fire is late, never lost.
 * - A wall time that exists twice (fall back, e.g. 02:30 on 2026-10-25) fires once, at its first
 *   occurrence (02:30 summer time): never duplicated.
 * - Fixed wall times stay fixed: a daily 09:00 job fires at 09:00 local on both sides of a switch, so
 *   its fires are 23 h or 25 h apart in UTC. Interval jobs (every 30 minutes, hourly) keep firing at
 *   every real interval, including both passes through a repeated hour.
 * These hold for a sequence counted forward through the switch, as the scheduler does (each next fire
 * is computed from the previous fire). Counted from a start just after a switch, cron-parser finds
 * other fires (it misses a shifted fire, and finds the second 02:30), and its prev() lists the
 * repeated 02:30 twice and skips the shifted one; so prev() only helps find where to start counting,
 * never which fires there are.
 */

export type Check = { ok: true } | { ok: false; reason: string };
export type RunAtResult = { ok: true; at: number } | { ok: false; reason: string };

export class CronScheduleError extends Error {
  readonly code = 'cron_invalid_schedule';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CronScheduleError';
  }
}

/** Keeps `H` (hashed) fields stable from one evaluation to the next. */
const HASH_SEED = 'claude-ext-cron';

/** The machine's timezone, or UTC when it has none that Intl knows. */
export function defaultTimezone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isValidTimezone(zone) ? zone : 'UTC';
}

export function isValidTimezone(timezone: string): boolean {
  if (timezone.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function timezoneProblem(timezone: string): string | undefined {
  return isValidTimezone(timezone) ? undefined : `unknown timezone "${timezone}": use an IANA name such as Europe/Berlin, America/New_York or UTC`;
}

function fieldCountProblem(expr: string): string | undefined {
  if (expr === '') return 'the cron expression is empty';
  if (expr.startsWith('@')) return undefined;
  const count = expr.split(/\s+/).length;
  if (count === 5 || count === 6) return undefined;
  return `cron expression "${expr}" has ${count} field${count === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week) or 6 (second first)`;
}

function iterator(expr: string, timezone: string, from: number): CronExpression {
  return CronExpressionParser.parse(expr, { tz: timezone, currentDate: new Date(from), hashSeed: HASH_SEED });
}

/** Parses or throws CronScheduleError with the reason (the parser's own for a malformed expression). */
function cronFrom(expr: string, timezone: string, from: number): CronExpression {
  const problem = timezoneProblem(timezone) ?? fieldCountProblem(expr.trim());
  if (problem) throw new CronScheduleError(problem);
  try {
    return iterator(expr.trim(), timezone, from);
  } catch (error) {
    throw new CronScheduleError(`invalid cron expression "${expr.trim()}": ${(error as Error).message}`);
  }
}

/** The next fire of `cron`, or undefined when there is none. */
function step(cron: CronExpression): number | undefined {
  try {
    return cron.next().toDate().getTime();
  } catch {
    return undefined;
  }
}

export function parseCron(expr: string, timezone: string): Check {
  let cron: CronExpression;
  try {
    cron = cronFrom(expr, timezone, Date.now());
  } catch (error) {
    return { ok: false, reason: (error as CronScheduleError).reason };
  }
  if (step(cron) === undefined) return { ok: false, reason: `cron expression "${expr.trim()}" never fires` };
  return { ok: true };
}

/** The first fire strictly after `after` (epoch ms), or undefined when there is none. Throws CronScheduleError. */
export function nextFireAfter(expr: string, timezone: string, after: number): number | undefined {
  const cron = cronFrom(expr, timezone, after);
  for (let fire = step(cron); fire !== undefined; fire = step(cron)) {
    if (fire > after) return fire;
  }
  return undefined;
}

/** Two consecutive fires of a schedule and the time between them. */
export interface FireGap {
  readonly from: number;
  readonly to: number;
  readonly gapMs: number;
}

/** How far shortestGap looks: at most `maxFires` fires, and no further than `horizonMs` past the first. */
export interface GapSearch {
  readonly maxFires: number;
  readonly horizonMs: number;
}

/**
 * The shortest time between consecutive fires among the next fires after `after`, or undefined when
 * there are fewer than two. The fires of a cron expression are every combination of its fields' values,
 * so the same pattern repeats every minute, hour, day and month, and the shortest gap shows among the
 * first fires. Throws CronScheduleError.
 */
export function shortestGap(expr: string, timezone: string, after: number, search: GapSearch): FireGap | undefined {
  const cron = cronFrom(expr, timezone, after);
  let shortest: FireGap | undefined;
  let first: number | undefined;
  let previous: number | undefined;
  for (let seen = 0; seen < search.maxFires; seen += 1) {
    const fire = step(cron);
    if (fire === undefined) break;
    if (fire <= after) continue;
    first ??= fire;
    if (previous !== undefined && (shortest === undefined || fire - previous < shortest.gapMs)) shortest = { from: previous, to: fire, gapMs: fire - previous };
    if (fire - first > search.horizonMs) break;
    previous = fire;
  }
  return shortest;
}

/** The fires in (fromExclusive, toInclusive], ascending. Throws CronScheduleError. */
function* firesIn(expr: string, timezone: string, fromExclusive: number, toInclusive: number): Generator<number> {
  if (toInclusive <= fromExclusive) return;
  const cron = cronFrom(expr, timezone, fromExclusive);
  for (let fire = step(cron); fire !== undefined && fire <= toInclusive; fire = step(cron)) {
    if (fire > fromExclusive) yield fire;
  }
}

/** The first `limit` fires in (fromExclusive, toInclusive], ascending. Throws CronScheduleError. */
export function firesBetween(expr: string, timezone: string, fromExclusive: number, toInclusive: number, limit: number): number[] {
  const fires: number[] = [];
  if (limit <= 0) return fires;
  for (const fire of firesIn(expr, timezone, fromExclusive, toInclusive)) {
    fires.push(fire);
    if (fires.length >= limit) break;
  }
  return fires;
}

/**
 * The last `limit` fires in (fromExclusive, toInclusive], ascending; `omitted` tells whether earlier
 * fires in the range were left out. Cheap even when the range holds millions of fires.
 */
export function latestFiresBetween(
  expr: string,
  timezone: string,
  fromExclusive: number,
  toInclusive: number,
  limit: number,
): { fires: number[]; omitted: boolean } {
  const first = firesBetween(expr, timezone, fromExclusive, toInclusive, limit + 1);
  if (first.length <= limit) return { fires: first, omitted: false };
  // prev() lists a repeated fall-back fire twice, so it may take more than `limit` steps back.
  let previousFrom = Infinity;
  for (let steps = limit + 2; ; steps *= 2) {
    const cut = Math.max(fromExclusive, awayFromSwitch(stepsBack(expr, timezone, toInclusive, steps) - 1, timezone));
    const from = cut < previousFrom ? cut : fromExclusive;
    previousFrom = from;
    const tail: number[] = [];
    for (const fire of firesIn(expr, timezone, from, toInclusive)) {
      tail.push(fire);
      if (tail.length > limit) tail.shift();
    }
    if (tail.length >= limit || from <= fromExclusive) return { fires: tail, omitted: true };
  }
}

/** Where counting `steps` fires back from `toInclusive` with prev() ends (an approximation, see above). */
function stepsBack(expr: string, timezone: string, toInclusive: number, steps: number): number {
  const backwards = cronFrom(expr, timezone, toInclusive + 1);
  let start = toInclusive;
  for (let i = 0; i < steps; i++) {
    try {
      start = backwards.prev().toDate().getTime();
    } catch {
      break;
    }
  }
  return start;
}

/**
 * A time at or before `time` to count fires forward from. Counting from just after a DST switch gives
 * other fires than counting through it (a fire shifted out of a spring-forward gap is not found, a
 * wall time repeated by fall-back is found a second time), so such a start is moved to before it.
 */
function awayFromSwitch(time: number, timezone: string): number {
  let start = time;
  for (let i = 0; i < 3 && utcOffsetAt(start - 3 * HOUR, timezone) !== utcOffsetAt(start, timezone); i++) start -= 4 * HOUR;
  return start;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const LATEST_DATE_MS = 8.64e15;

const RELATIVE = /^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/i;
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2})?)?$/i;

/**
 * When a one-shot job should run: ISO 8601 (`2026-05-01T09:00:00+02:00`, `...Z`, or without an offset
 * as a wall time in `timezone`) or relative to `now` (`+20m`, `+1h30m`, `+45s`, `+2d`). Only future
 * times are accepted.
 */
export function parseRunAt(text: string, now: number, timezone: string = defaultTimezone()): RunAtResult {
  const input = text.trim();
  const parsed = input.startsWith('+') ? parseRelative(input, now) : parseAbsolute(input, timezone);
  if (!parsed.ok) return parsed;
  if (parsed.at <= now) {
    return { ok: false, reason: `"${input}" is in the past (${new Date(parsed.at).toISOString()}, now is ${new Date(now).toISOString()})` };
  }
  return parsed;
}

function unreadable(input: string): RunAtResult {
  return {
    ok: false,
    reason: `cannot read "${input}" as a time: use ISO 8601 such as 2026-05-01T09:00:00+02:00 (or without an offset, in the job's timezone) or a relative time such as +20m, +1h30m, +2d`,
  };
}

function parseRelative(input: string, now: number): RunAtResult {
  const match = RELATIVE.exec(input);
  if (!match || input === '+') return unreadable(input);
  const [, days, hours, minutes, seconds] = match.map((part) => Number(part ?? 0));
  const ms = (days ?? 0) * DAY + (hours ?? 0) * HOUR + (minutes ?? 0) * MINUTE + (seconds ?? 0) * 1000;
  if (!Number.isSafeInteger(ms) || now + ms > LATEST_DATE_MS) return { ok: false, reason: `"${input}" is too far ahead` };
  return { ok: true, at: now + ms };
}

function parseAbsolute(input: string, timezone: string): RunAtResult {
  const match = ISO_DATE_TIME.exec(input);
  if (!match) return unreadable(input);
  const [, year, month, day, hour, minute, second, fraction, zulu, sign, offsetHours, offsetMinutes] = match;
  const fields = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second ?? 0),
    ms: Number((fraction ?? '').padEnd(3, '0').slice(0, 3)),
  };
  const daysInMonth = new Date(Date.UTC(fields.year, fields.month, 0)).getUTCDate();
  const valid =
    fields.month >= 1 && fields.month <= 12 && fields.day >= 1 && fields.day <= daysInMonth &&
    fields.hour <= 23 && fields.minute <= 59 && fields.second <= 59;
  if (!valid) return { ok: false, reason: `"${input}" is not a real date and time` };
  const wall = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second, fields.ms);

  if (zulu) return { ok: true, at: wall };
  if (sign) {
    const offset = Number(offsetHours) * HOUR + Number(offsetMinutes ?? 0) * MINUTE;
    if (Number(offsetHours) > 23 || Number(offsetMinutes ?? 0) > 59) return { ok: false, reason: `"${input}" has an impossible UTC offset` };
    return { ok: true, at: sign === '-' ? wall + offset : wall - offset };
  }
  const problem = timezoneProblem(timezone);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, at: wallTimeToInstant(wall, timezone) };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** How far `timezone`'s wall clock is ahead of UTC at `instant`, in ms. */
function utcOffsetAt(instant: number, timezone: string): number {
  const part: Record<string, number> = {};
  for (const { type, value } of formatterFor(timezone).formatToParts(new Date(instant))) part[type] = Number(value);
  const wall = Date.UTC(part.year ?? 0, (part.month ?? 1) - 1, part.day ?? 1, part.hour ?? 0, part.minute ?? 0, part.second ?? 0);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The instant a wall time (given as if it were UTC) names in `timezone`. A time repeated by a fall-back
 * switch resolves to its first occurrence; a time skipped by a spring-forward switch is moved forward
 * by the gap (as cron-parser does).
 */
function wallTimeToInstant(wall: number, timezone: string): number {
  const offsetBefore = utcOffsetAt(wall - DAY, timezone);
  const offsetAfter = utcOffsetAt(wall + DAY, timezone);
  const candidates = [wall - offsetBefore, wall - offsetAfter].filter((instant) => instant + utcOffsetAt(instant, timezone) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - offsetBefore;
}

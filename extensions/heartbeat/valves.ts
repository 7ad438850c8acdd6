import type { UsageSnapshot } from 'claude-ext/extension';
import type { Finding } from './gate.ts';
import { MAX_NOTE_CHARS } from './protocol.ts';

/**
 * The heartbeat's safety valves, as pure functions over its state and a clock time: minimum interval
 * between runs, runs per day, a daily cost budget, quiet hours, backoff after unproductive runs, and
 * pause. "Today" and quiet hours are read in the configured timezone.
 */

export type ValveName = 'min_interval' | 'max_runs_per_day' | 'budget' | 'quiet_hours' | 'backoff' | 'paused' | 'max_utilization';

export type TickOutcome = 'gated_out' | 'skipped' | 'ran' | 'valve' | 'error' | 'paused';

export interface TickRecord {
  at: number;
  outcome: TickOutcome;
  valve?: ValveName;
  reason?: string;
  costUsd?: number;
  findings?: number;
  /** What the utilisation valve saw, when it was asked: the reading, or why it did not hold. */
  utilization?: string;
}

export interface QuietHours {
  /** 'HH:MM', local time, inclusive. */
  start: string;
  /** 'HH:MM', local time, exclusive; earlier than `start` when the quiet hours wrap midnight. */
  end: string;
}

export interface ValveConfig {
  minIntervalMs: number;
  maxRunsPerDay: number;
  /** Decisions and runs stop for the rest of the local day once their costs reach this. */
  dailyBudgetUsd: number;
  quietHours?: QuietHours;
  /** An IANA name, e.g. 'Europe/Paris'. */
  timezone: string;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Holds decisions and runs while the 5-hour utilisation (percent) is above this; undefined: never. */
  maxUtilization?: number;
}

export interface HeartbeatState {
  /** YYYY-MM-DD in the configured timezone: the day `runsToday` and `costToday` count. */
  day: string;
  runsToday: number;
  costToday: number;
  lastRunAt?: number;
  /** Failed runs since the last useful one. */
  consecutiveFailures: number;
  /** Runs that did nothing since the last useful one. */
  consecutiveNoops: number;
  pausedUntil?: number;
  /** Findings held back by a valve, for the next decision. */
  deferredFindings: Finding[];
  /** What the heartbeat keeps in mind between runs. */
  notes: string[];
  log: TickRecord[];
}

export type Stage = 'decision' | 'run';

export type ValveCheck = { ok: true } | { ok: false; valve: ValveName; reason: string; retryAt?: number };

export type RunOutcome = 'success' | 'failure' | 'noop';

export class ValveConfigError extends Error {
  readonly code = 'heartbeat_config';
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`heartbeat ${key}: ${problem}`);
    this.name = 'ValveConfigError';
  }
}

const MINUTE = 60_000;
const DAY_MINUTES = 24 * 60;

/** A pause without a time lasts this long: until resumed, in practice. */
export const UNTIL_RESUMED_MS = 100 * 365 * DAY_MINUTES * MINUTE;
/** The latest time a Date can hold; a later one is "Invalid time value". */
const LATEST_TIME_MS = 8.64e15;

/** Whether `time` (epoch ms) is a time a Date can hold. */
export function isValidTime(time: number): boolean {
  return Number.isFinite(time) && Math.abs(time) <= LATEST_TIME_MS;
}

/** Throws a ValveConfigError naming the first invalid key. */
export function validateValveConfig(config: ValveConfig): void {
  const nonNegative = (key: string, value: number): void => {
    if (!Number.isFinite(value) || value < 0) throw new ValveConfigError(key, `must be a finite number ≥ 0, got ${value}`);
  };
  nonNegative('minIntervalMs', config.minIntervalMs);
  nonNegative('dailyBudgetUsd', config.dailyBudgetUsd);
  nonNegative('backoffBaseMs', config.backoffBaseMs);
  nonNegative('backoffMaxMs', config.backoffMaxMs);
  if (!Number.isInteger(config.maxRunsPerDay) || config.maxRunsPerDay < 0) {
    throw new ValveConfigError('maxRunsPerDay', `must be a whole number ≥ 0, got ${config.maxRunsPerDay}`);
  }
  if (config.maxUtilization !== undefined && !(Number.isFinite(config.maxUtilization) && config.maxUtilization >= 0 && config.maxUtilization <= 100)) {
    throw new ValveConfigError('maxUtilization', `must be a percentage from 0 to 100, got ${config.maxUtilization}`);
  }
  if (config.backoffMaxMs < config.backoffBaseMs) throw new ValveConfigError('backoffMaxMs', `must be at least backoffBaseMs (${config.backoffBaseMs})`);
  try {
    formatter(config.timezone);
  } catch {
    throw new ValveConfigError('timezone', `"${config.timezone}" is not a known IANA timezone (e.g. "Europe/Paris", "UTC")`);
  }
  if (config.quietHours) {
    const start = parseClockTime(config.quietHours.start, 'quietHours.start');
    const end = parseClockTime(config.quietHours.end, 'quietHours.end');
    if (start === end) throw new ValveConfigError('quietHours', `start and end are both ${config.quietHours.start}; leave quiet hours out for none`);
  }
}

/** Minutes since midnight of an 'HH:MM' time. */
export function parseClockTime(text: string, key = 'time'): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!match) throw new ValveConfigError(key, `"${text}" is not a time as HH:MM (00:00 to 23:59)`);
  return Number(match[1]) * 60 + Number(match[2]);
}

export function initialState(now: number, timezone: string): HeartbeatState {
  return {
    day: localDay(now, timezone),
    runsToday: 0,
    costToday: 0,
    consecutiveFailures: 0,
    consecutiveNoops: 0,
    deferredFindings: [],
    notes: [],
    log: [],
  };
}

/** On a new local day, starts the day's counts afresh: the run count and the budget reset. */
export function rollDay(state: HeartbeatState, now: number, timezone: string): HeartbeatState {
  const day = localDay(now, timezone);
  if (day === state.day) return state;
  return { ...state, day, runsToday: 0, costToday: 0 };
}

/** How long to wait after the last run once `unproductive` runs in a row failed or did nothing. */
export function backoffDelay(unproductive: number, config: Pick<ValveConfig, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  if (unproductive <= 0) return 0;
  return Math.min(config.backoffBaseMs * 2 ** (unproductive - 1), config.backoffMaxMs);
}

interface Block {
  valve: ValveName;
  reason: string;
  retryAt: number;
}

/**
 * Whether a decision or a run may happen now. A decision is only worth its cost when a run could
 * follow, so every valve stops both: pause, the spent budget, quiet hours (findings are to be
 * deferred), the day's run limit, backoff and the minimum interval. The stage only changes the
 * wording. When blocked, `valve` is the most important reason and `retryAt` the time when none of the
 * valves blocking now would block any more.
 */
export function checkValves(state: HeartbeatState, config: ValveConfig, now: number, stage: Stage, usage?: UsageSnapshot): ValveCheck {
  const tz = config.timezone;
  const today = rollDay(state, now, tz);
  const what = stage === 'decision' ? 'no decision' : 'no run';
  const blocks: Block[] = [];

  if (today.pausedUntil !== undefined && now < today.pausedUntil) {
    blocks.push({ valve: 'paused', reason: `${what}: the heartbeat is paused until ${formatLocal(today.pausedUntil, tz)}`, retryAt: today.pausedUntil });
  }
  if (today.costToday >= config.dailyBudgetUsd) {
    blocks.push({
      valve: 'budget',
      reason: `${what}: today's budget of ${usd(config.dailyBudgetUsd)} is spent (${usd(today.costToday)}); it resets at local midnight`,
      retryAt: nextDayStart(now, tz),
    });
  }
  const utilization = config.maxUtilization !== undefined && usage ? checkUtilization(usage, config.maxUtilization, now) : undefined;
  if (utilization?.hold) {
    blocks.push({ valve: 'max_utilization', reason: `${what}: ${utilization.reason}`, retryAt: utilization.retryAt });
  }
  if (config.quietHours && isQuietTime(now, config.quietHours, tz)) {
    const { start, end } = config.quietHours;
    blocks.push({ valve: 'quiet_hours', reason: `${what}: quiet hours (${start}–${end} ${tz}); findings are kept for later`, retryAt: quietEndsAt(now, config.quietHours, tz) });
  }
  if (today.runsToday >= config.maxRunsPerDay) {
    blocks.push({
      valve: 'max_runs_per_day',
      reason: `${what}: ${today.runsToday} of ${config.maxRunsPerDay} runs today already`,
      retryAt: nextDayStart(now, tz),
    });
  }
  if (today.lastRunAt !== undefined) {
    const unproductive = today.consecutiveFailures + today.consecutiveNoops;
    const delay = backoffDelay(unproductive, config);
    if (delay > config.minIntervalMs && now < today.lastRunAt + delay) {
      blocks.push({
        valve: 'backoff',
        reason: `${what}: backing off for ${duration(delay)} after ${describeStreak(today)}`,
        retryAt: today.lastRunAt + delay,
      });
    }
    if (now < today.lastRunAt + config.minIntervalMs) {
      blocks.push({
        valve: 'min_interval',
        reason: `${what}: the last run was ${duration(now - today.lastRunAt)} ago; runs are at least ${duration(config.minIntervalMs)} apart`,
        retryAt: today.lastRunAt + config.minIntervalMs,
      });
    }
  }

  const first = blocks[0];
  if (!first) return { ok: true };
  return { ok: false, valve: first.valve, reason: first.reason, retryAt: Math.max(...blocks.map((b) => b.retryAt)) };
}

/** How long a hold by utilisation lasts when the reading names no reset time: until the next check. */
export const UTILIZATION_RETRY_MS = 5 * MINUTE;

export type UtilizationCheck = { hold: true; reason: string; retryAt: number } | { hold: false; reason: string };

/**
 * The utilisation valve on its own: holds while a subscription's 5-hour utilisation is above `max`
 * (percent). An API key has no such limit, and a reading that failed or reports no 5-hour window says
 * nothing: neither holds, and `reason` says why.
 */
export function checkUtilization(usage: UsageSnapshot, max: number, now: number): UtilizationCheck {
  if (usage.error && !usage.fiveHour) return { hold: false, reason: `utilisation unknown, not held (${usage.error})` };
  if (usage.auth === 'api_key') return { hold: false, reason: 'API key: no subscription limits, not held' };
  if (usage.auth !== 'subscription') return { hold: false, reason: 'unknown account: utilisation not held' };
  const window = usage.fiveHour;
  if (!window) return { hold: false, reason: 'no 5-hour utilisation reported, not held' };
  const resets = window.resetsAt !== undefined ? Date.parse(window.resetsAt) : Number.NaN;
  const seen = `5-hour utilisation ${percent(window.utilization)}${usage.error ? ` (as read at ${usage.windowsCheckedAt ?? 'an earlier reading'}; the newest reading failed: ${usage.error})` : ''}`;
  if (window.utilization <= max) return { hold: false, reason: `${seen} (max_utilization ${percent(max)})` };
  return {
    hold: true,
    reason: `${seen} is above max_utilization ${percent(max)}${Number.isNaN(resets) ? '' : `; the window resets at ${new Date(resets).toISOString()}`}`,
    retryAt: Number.isNaN(resets) || resets <= now ? now + UTILIZATION_RETRY_MS : resets,
  };
}

function percent(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}

export interface RunRecord {
  now: number;
  costUsd: number;
  outcome: RunOutcome;
  /** When given, the run counts toward the local day it ended on. */
  timezone?: string;
}

/** Counts a finished run: its cost, the day's run count, and the streak that drives backoff. */
export function recordRun(state: HeartbeatState, run: RunRecord): HeartbeatState {
  const current = run.timezone === undefined ? state : rollDay(state, run.now, run.timezone);
  return {
    ...current,
    runsToday: current.runsToday + 1,
    costToday: current.costToday + validCost(run.costUsd),
    lastRunAt: run.now,
    consecutiveFailures: run.outcome === 'failure' ? current.consecutiveFailures + 1 : run.outcome === 'success' ? 0 : current.consecutiveFailures,
    consecutiveNoops: run.outcome === 'noop' ? current.consecutiveNoops + 1 : run.outcome === 'success' ? 0 : current.consecutiveNoops,
  };
}

export function recordDecisionCost(state: HeartbeatState, costUsd: number): HeartbeatState {
  return { ...state, costToday: state.costToday + validCost(costUsd) };
}

export function addTick(state: HeartbeatState, record: TickRecord, keep = 200): HeartbeatState {
  return { ...state, log: keep > 0 ? [...state.log, record].slice(-keep) : [] };
}

export const MAX_DEFERRED_FINDINGS = 30;
const MAX_DEFERRED_DETAILS = 100;

/**
 * Keeps findings for a later decision. A finding with the same source and summary as one already kept
 * is merged into it (details joined, newest last), so a file changing every tick of the night is one
 * finding in the morning. The oldest are dropped beyond `keep`.
 */
export function deferFindings(state: HeartbeatState, findings: readonly Finding[], keep = MAX_DEFERRED_FINDINGS): HeartbeatState {
  let kept = [...state.deferredFindings];
  for (const finding of findings) {
    const same = kept.find((k) => k.source === finding.source && k.summary === finding.summary);
    kept = kept.filter((k) => k !== same);
    const details = [...new Set([...(same?.details ?? []), ...(finding.details ?? [])])].slice(-MAX_DEFERRED_DETAILS);
    kept.push(details.length > 0 ? { source: finding.source, summary: finding.summary, details } : { source: finding.source, summary: finding.summary });
  }
  return { ...state, deferredFindings: keep > 0 ? kept.slice(-keep) : [] };
}

/** The kept findings, and the state without them. */
export function takeDeferredFindings(state: HeartbeatState): { state: HeartbeatState; findings: Finding[] } {
  return { state: { ...state, deferredFindings: [] }, findings: state.deferredFindings };
}

export function addNote(state: HeartbeatState, note: string, keep = 20): HeartbeatState {
  const text = note.trim();
  if (text.length === 0) return state;
  const clipped = text.length > MAX_NOTE_CHARS ? `${text.slice(0, MAX_NOTE_CHARS - 1)}…` : text;
  return { ...state, notes: keep > 0 ? [...state.notes, clipped].slice(-keep) : [] };
}

// --- Local time -----------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timezone, format);
  }
  return format;
}

function localParts(now: number, timezone: string): { day: string; minutes: number } {
  const parts: Record<string, string> = {};
  for (const part of formatter(timezone).formatToParts(now)) parts[part.type] = part.value;
  const year = (parts.year ?? '').padStart(4, '0');
  return { day: `${year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** The local date, YYYY-MM-DD. */
export function localDay(now: number, timezone: string): string {
  return localParts(now, timezone).day;
}

/** Minutes since local midnight, as the wall clock shows them. */
export function localMinutes(now: number, timezone: string): number {
  return localParts(now, timezone).minutes;
}

/** Whether the local wall-clock time is within [start, end), wrapping midnight when end < start. */
export function isQuietTime(now: number, quiet: QuietHours, timezone: string): boolean {
  const start = parseClockTime(quiet.start, 'quietHours.start');
  const end = parseClockTime(quiet.end, 'quietHours.end');
  const minutes = localMinutes(now, timezone);
  if (start < end) return minutes >= start && minutes < end;
  if (start > end) return minutes >= start || minutes < end;
  return false;
}

/** The first instant of the next local day (which may not be 00:00 where DST starts at midnight). */
export function nextDayStart(now: number, timezone: string): number {
  const today = localDay(now, timezone);
  const from = floorMinute(now);
  return firstMinuteWhere(from, from + 26 * 60 * MINUTE, (t) => localDay(t, timezone) > today);
}

/** When the quiet hours that contain `now` end. */
export function quietEndsAt(now: number, quiet: QuietHours, timezone: string): number {
  const end = parseClockTime(quiet.end, 'quietHours.end');
  let quietAt = floorMinute(now);
  // Jump to where the wall clock should read `end`; DST can leave it short (still quiet: jump again)
  // or past the real end (then search back between the two).
  for (let attempt = 0; attempt < 4; attempt++) {
    const ahead = (end - localMinutes(quietAt, timezone) + DAY_MINUTES) % DAY_MINUTES || DAY_MINUTES;
    const candidate = quietAt + ahead * MINUTE;
    if (!isQuietTime(candidate, quiet, timezone)) return firstMinuteWhere(quietAt, candidate, (t) => !isQuietTime(t, quiet, timezone));
    quietAt = candidate;
  }
  return quietAt;
}

/** Binary search, by whole minutes, for the first time in (from, to] where `test` holds; `test(to)` must hold. */
function firstMinuteWhere(from: number, to: number, test: (t: number) => boolean): number {
  let lo = from;
  let hi = to;
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
    if (test(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function floorMinute(t: number): number {
  return Math.floor(t / MINUTE) * MINUTE;
}

function formatLocal(t: number, timezone: string): string {
  const { day, minutes } = localParts(t, timezone);
  return `${day} ${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')} ${timezone}`;
}

function validCost(costUsd: number): number {
  return Number.isFinite(costUsd) && costUsd > 0 ? costUsd : 0;
}

function usd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

function describeStreak(state: HeartbeatState): string {
  const parts: string[] = [];
  if (state.consecutiveFailures > 0) parts.push(`${state.consecutiveFailures} failed`);
  if (state.consecutiveNoops > 0) parts.push(`${state.consecutiveNoops} idle`);
  return `${parts.join(' and ')} run${state.consecutiveFailures + state.consecutiveNoops === 1 ? '' : 's'} in a row`;
}

function duration(ms: number): string {
  const minutes = Math.round(ms / MINUTE);
  if (minutes < 1) return `${Math.max(0, Math.round(ms / 1000))}s`;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
}

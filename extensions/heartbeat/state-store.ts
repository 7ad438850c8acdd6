import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, writeFileAtomic, writeJsonAtomic } from 'claude-ext/extension';
import type { Finding, FindingSource } from './gate.ts';
import { MAX_INSTRUCTIONS_CHARS } from './protocol.ts';
import { initialState, isValidTime, rollDay, UNTIL_RESUMED_MS, type HeartbeatState, type TickOutcome, type TickRecord, type ValveName } from './valves.ts';

/**
 * The heartbeat's files in its data dir: `state.json` (counts, streaks, deferred findings, notes, the
 * tick log) and `instructions.md` (what a run should do). Both are written atomically, 0600.
 */

export const STATE_FILE = 'state.json';
export const INSTRUCTIONS_FILE = 'instructions.md';
export const STATE_VERSION = 1;

export const DEFAULT_INSTRUCTIONS = `You are the heartbeat: you wake up on your own when something may need attention.

1. Read the findings: what changed, what a check reported, what is waiting. Work out whether any of it
   actually needs something done.
2. Do small, safe, useful maintenance that follows from them (tidy up, fix an obvious breakage, answer
   what is waiting for you). Nothing destructive or hard to undo; leave larger changes as a suggestion.
3. Tell the user only when there is something worth telling: a problem they must know about, a
   decision that is theirs, or a result they asked for. Otherwise stay silent.
4. If nothing needed doing, say so in one line and stop.
`;

interface StateFile {
  version: number;
  state: unknown;
}

export interface LoadedState {
  state: HeartbeatState;
  /** Set when the file could not be used and the state started fresh: what was wrong and where the file went. */
  problem?: string;
}

export class InstructionsError extends Error {
  readonly code = 'heartbeat_instructions';
  constructor(message: string) {
    super(message);
    this.name = 'InstructionsError';
  }
}

export class HeartbeatStore {
  readonly stateFile: string;
  readonly instructionsFile: string;

  constructor(readonly dir: string) {
    ensurePrivateDir(dir);
    this.stateFile = path.join(dir, STATE_FILE);
    this.instructionsFile = path.join(dir, INSTRUCTIONS_FILE);
  }

  /**
   * The saved state, rolled to the current local day. A missing file starts fresh silently; an
   * unreadable one starts fresh too, is moved aside (kept for inspection) and reported in `problem`.
   */
  load(now: number, timezone: string): LoadedState {
    let text: string;
    try {
      text = fs.readFileSync(this.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: initialState(now, timezone) };
      throw error;
    }
    const parsed = parseStateFile(text, now);
    if (typeof parsed !== 'string') return { state: rollDay(parsed, now, timezone) };
    const aside = `${this.stateFile}.corrupt-${now}`;
    fs.renameSync(this.stateFile, aside);
    return { state: initialState(now, timezone), problem: `${this.stateFile} could not be used (${parsed}); moved it to ${aside} and started afresh` };
  }

  save(state: HeartbeatState): void {
    const file: StateFile = { version: STATE_VERSION, state };
    writeJsonAtomic(this.stateFile, file);
  }

  /** The instructions a run follows: the saved ones, or the default when none were set. */
  instructions(): { text: string; isDefault: boolean } {
    try {
      const text = fs.readFileSync(this.instructionsFile, 'utf8');
      if (text.trim().length > 0) return { text, isDefault: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return { text: DEFAULT_INSTRUCTIONS, isDefault: true };
  }

  setInstructions(text: string): void {
    if (text.trim().length === 0) throw new InstructionsError('the heartbeat instructions cannot be empty; reset them to go back to the default');
    if (text.length > MAX_INSTRUCTIONS_CHARS) {
      throw new InstructionsError(`the heartbeat instructions are ${text.length} characters; keep them under ${MAX_INSTRUCTIONS_CHARS}`);
    }
    writeFileAtomic(this.instructionsFile, text.endsWith('\n') ? text : `${text}\n`);
  }

}

/** The state in a state file's text, or why it cannot be used. */
export function parseStateFile(text: string, now = Date.now()): HeartbeatState | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!isRecord(raw)) return 'not a JSON object';
  const file = raw as Partial<StateFile>;
  if (file.version !== STATE_VERSION) return `unknown version ${JSON.stringify(file.version)} (this daemon reads version ${STATE_VERSION})`;
  return validateState(file.state, now);
}

const OUTCOMES: readonly TickOutcome[] = ['gated_out', 'skipped', 'ran', 'valve', 'error', 'paused'];
const VALVES: readonly ValveName[] = ['min_interval', 'max_runs_per_day', 'budget', 'quiet_hours', 'backoff', 'paused'];
const SOURCES: readonly FindingSource[] = ['files', 'command', 'pending'];

/** Checks every field's type; a field that is absent takes its fresh value (a file from an older version). */
function validateState(raw: unknown, now: number): HeartbeatState | string {
  if (!isRecord(raw)) return '"state" is not an object';
  const count = (key: string): number | string => {
    const value = raw[key] ?? 0;
    return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : `"${key}" is not a whole number ≥ 0`;
  };
  const optionalTime = (key: string): number | undefined | string => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'number' && Number.isFinite(value) ? value : `"${key}" is not a time`;
  };
  const list = <T>(key: string, valid: (item: unknown) => item is T): T[] | string => {
    const value = raw[key] ?? [];
    if (!Array.isArray(value)) return `"${key}" is not a list`;
    const bad = value.findIndex((item) => !valid(item));
    return bad === -1 ? (value as T[]) : `"${key}"[${bad}] is malformed`;
  };

  const day = raw.day;
  if (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return '"day" is not a date as YYYY-MM-DD';
  const costToday = raw.costToday ?? 0;
  if (typeof costToday !== 'number' || !Number.isFinite(costToday) || costToday < 0) return '"costToday" is not an amount ≥ 0';
  const fields = {
    runsToday: count('runsToday'),
    consecutiveFailures: count('consecutiveFailures'),
    consecutiveNoops: count('consecutiveNoops'),
    lastRunAt: optionalTime('lastRunAt'),
    pausedUntil: optionalTime('pausedUntil'),
    deferredFindings: list('deferredFindings', isFinding),
    notes: list('notes', (item): item is string => typeof item === 'string'),
    log: list('log', isTickRecord),
  };
  for (const value of Object.values(fields)) if (typeof value === 'string') return value;

  const state: HeartbeatState = {
    day,
    runsToday: fields.runsToday as number,
    costToday,
    consecutiveFailures: fields.consecutiveFailures as number,
    consecutiveNoops: fields.consecutiveNoops as number,
    deferredFindings: fields.deferredFindings as Finding[],
    notes: fields.notes as string[],
    log: fields.log as TickRecord[],
  };
  if (fields.lastRunAt !== undefined) state.lastRunAt = fields.lastRunAt as number;
  if (fields.pausedUntil !== undefined) state.pausedUntil = pauseEnd(fields.pausedUntil as number, now);
  return state;
}

/**
 * A saved pause's end. One beyond what a Date can hold (saved before pauses were bounded) made every
 * tick fail; it is read as what it meant, a pause until resumed.
 */
function pauseEnd(until: number, now: number): number {
  return isValidTime(until) ? until : now + UNTIL_RESUMED_MS;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFinding(value: unknown): value is Finding {
  if (!isRecord(value)) return false;
  if (!SOURCES.includes(value.source as FindingSource) || typeof value.summary !== 'string') return false;
  return value.details === undefined || (Array.isArray(value.details) && value.details.every((d) => typeof d === 'string'));
}

function isTickRecord(value: unknown): value is TickRecord {
  if (!isRecord(value)) return false;
  if (typeof value.at !== 'number' || !OUTCOMES.includes(value.outcome as TickOutcome)) return false;
  if (value.valve !== undefined && !VALVES.includes(value.valve as ValveName)) return false;
  if (value.reason !== undefined && typeof value.reason !== 'string') return false;
  if (value.costUsd !== undefined && typeof value.costUsd !== 'number') return false;
  return value.findings === undefined || typeof value.findings === 'number';
}

import fs from 'node:fs';
import { LineSplitter } from '../util/line-splitter.ts';
import type { DailyCost, SessionCost } from './usage-types.ts';

/** A record of the event log, as far as costs go. */
export interface LogRecord {
  readonly ts?: unknown;
  readonly type?: unknown;
  readonly session?: unknown;
  readonly user?: unknown;
  readonly cost_usd?: unknown;
  readonly extension?: unknown;
}

export const UNKNOWN_USER = 'unknown';

const READ_CHUNK_BYTES = 1024 ** 2;
/** Records are short; a longer line is no result record. */
const MAX_LINE_BYTES = 1024 ** 2;

/**
 * Running cost totals from the event log's `result` records: per UTC day and user, and per session.
 * Loaded once from the log and its rotations, then kept up to date record by record, so no caller
 * reads the log again. A result without `user` (written by an older version) takes the user of its
 * session's `session_created` record, else the one `userOf` knows, else `unknown`.
 */
export class CostLedger {
  private readonly byDayAndUser = new Map<string, { day: string; user: string; costUsd: number; prompts: number }>();
  private readonly bySession = new Map<string, { user: string; total: number; day: string; dayCost: number }>();
  private readonly sessionUsers = new Map<string, string>();

  constructor(private readonly userOf: (sessionId: string) => string | undefined = () => undefined) {}

  /** The log's files, oldest first: `events.jsonl.N` ... `events.jsonl.1`, `events.jsonl`. */
  static logFiles(file: string): string[] {
    const rotated: string[] = [];
    for (let i = 1; fs.existsSync(`${file}.${i}`); i += 1) rotated.unshift(`${file}.${i}`);
    return [...rotated, file];
  }

  /** Takes in every record of the log's files (oldest first); a missing file is skipped. */
  load(files: readonly string[]): void {
    for (const file of files) this.loadFile(file);
  }

  /** Takes in one record as the event log writes it. */
  take(record: LogRecord): void {
    // Only the engine's own records count: an extension's are tagged with its name.
    if (record.extension !== undefined) return;
    const session = typeof record.session === 'string' ? record.session : undefined;
    if (record.type === 'session_created' && session && typeof record.user === 'string') {
      this.sessionUsers.set(session, record.user);
      return;
    }
    if (record.type !== 'result') return;
    const cost = typeof record.cost_usd === 'number' && Number.isFinite(record.cost_usd) && record.cost_usd > 0 ? record.cost_usd : 0;
    const day = utcDay(record.ts);
    if (!day) return;
    const user = typeof record.user === 'string' ? record.user : ((session && (this.sessionUsers.get(session) ?? this.userOf(session))) ?? UNKNOWN_USER);
    const key = `${day}\n${user}`;
    const daily = this.byDayAndUser.get(key) ?? { day, user, costUsd: 0, prompts: 0 };
    daily.costUsd += cost;
    daily.prompts += 1;
    this.byDayAndUser.set(key, daily);
    if (!session) return;
    const own = this.bySession.get(session) ?? { user, total: 0, day, dayCost: 0 };
    if (own.day !== day) {
      if (day < own.day) {
        own.total += cost;
        this.bySession.set(session, own);
        return;
      }
      own.day = day;
      own.dayCost = 0;
    }
    own.total += cost;
    own.dayCost += cost;
    this.bySession.set(session, own);
  }

  /** Costs per UTC day and user, newest day first (users by name); `days` counts back from `now`'s day. */
  costs(options: { readonly user?: string; readonly days?: number } = {}, now = Date.now()): DailyCost[] {
    const since = options.days !== undefined ? utcDay(now - (Math.max(1, options.days) - 1) * 86_400_000) ?? '' : '';
    return [...this.byDayAndUser.values()]
      .filter((entry) => (options.user === undefined || entry.user === options.user) && entry.day >= since)
      .sort((a, b) => (a.day === b.day ? a.user.localeCompare(b.user) : a.day < b.day ? 1 : -1))
      .map((entry) => ({ ...entry }));
  }

  /** Each session's cost today (UTC) and in total, costliest today first. */
  sessionCosts(user?: string, now = Date.now()): SessionCost[] {
    const today = utcDay(now);
    return [...this.bySession.entries()]
      .filter(([, entry]) => user === undefined || entry.user === user)
      .map(([sessionId, entry]) => ({ sessionId, today: entry.day === today ? entry.dayCost : 0, total: entry.total }))
      .sort((a, b) => b.today - a.today || b.total - a.total);
  }

  private loadFile(file: string): void {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const splitter = new LineSplitter(MAX_LINE_BYTES, (line) => this.takeLine(line), () => undefined);
      const buffer = Buffer.alloc(READ_CHUNK_BYTES);
      for (;;) {
        const read = fs.readSync(fd, buffer, 0, buffer.length, null);
        if (read === 0) break;
        splitter.push(buffer.subarray(0, read));
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private takeLine(line: string): void {
    // Most records are of other types: only parse those that can matter.
    if (!line.includes('"type":"result"') && !line.includes('"type":"session_created"')) return;
    try {
      const record: unknown = JSON.parse(line);
      if (record !== null && typeof record === 'object') this.take(record as LogRecord);
    } catch {
      // a line cut by a crash
    }
  }
}

/** YYYY-MM-DD (UTC) of an ISO time or epoch ms. */
export function utcDay(time: unknown): string | undefined {
  const ms = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : undefined;
}

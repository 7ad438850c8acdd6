import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/files.ts';

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** A tool call the daemon is running for a session, as the CLI sent it. */
export interface CallRecord {
  /** Also the SSE event id the CLI resumes from after a restart. */
  readonly ref: string;
  readonly server: string;
  /** The JSON-RPC id of the CLI's `tools/call` request. */
  readonly requestId: string | number;
  readonly tool: string;
  /** Kept only for calls that may run again; `null` otherwise. */
  readonly arguments: unknown;
}

const DIR = 'mcp-calls';
const REF = /^c_[A-Za-z0-9_-]{16,64}$/;

/**
 * Tool calls in flight, one small file each in the session's directory, so that a daemon killed
 * mid-call can finish the call when the CLI reconnects to its stream (the SSE `Last-Event-ID`).
 */
export class CallJournal {
  constructor(private readonly sessionsDir: string) {}

  private sessionDir(sessionId: string): string {
    return path.join(this.sessionsDir, sessionId);
  }

  static newRef(): string {
    return `c_${crypto.randomBytes(12).toString('base64url')}`;
  }

  open(sessionId: string, record: CallRecord): void {
    const dir = path.join(this.sessionDir(sessionId), DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(dir, `${record.ref}.json`), JSON.stringify(record));
  }

  close(sessionId: string, ref: string): void {
    if (REF.test(ref)) fs.rmSync(path.join(this.sessionDir(sessionId), DIR, `${ref}.json`), { force: true });
  }

  /** Removes the calls of every session journalled before `before` (ms): no CLI came back for them. */
  /** Removes the calls journalled before `before`; returns them, with their sessions. */
  sweep(before: number): { sessionId: string; record: CallRecord }[] {
    const removed: { sessionId: string; record: CallRecord }[] = [];
    for (const session of readdir(this.sessionsDir)) {
      const dir = path.join(this.sessionsDir, session, DIR);
      for (const file of readdir(dir)) {
        const full = path.join(dir, file);
        try {
          if (fs.statSync(full).mtimeMs >= before) continue;
          const record = JSON.parse(fs.readFileSync(full, 'utf8')) as CallRecord;
          fs.rmSync(full, { force: true });
          removed.push({ sessionId: session, record });
        } catch {
          // removed meanwhile, or unreadable: gone either way
          fs.rmSync(full, { force: true });
        }
      }
    }
    return removed;
  }

  find(sessionId: string, ref: string): CallRecord | undefined {
    if (!REF.test(ref)) return undefined;
    try {
      const record = JSON.parse(fs.readFileSync(path.join(this.sessionDir(sessionId), DIR, `${ref}.json`), 'utf8')) as CallRecord;
      return record.ref === ref ? record : undefined;
    } catch {
      return undefined;
    }
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, readJsonFile, writeJsonAtomic, type TurnOutcome } from 'claude-ext/extension';

/**
 * `waiting`: the question is queued or being answered. `answered`: the target's turn succeeded.
 * `failed`: it ended otherwise (error, stopped, cancelled by someone else). `timeout`, `cancelled`:
 * the asker stopped waiting. `sent`: a message told with session_tell.
 */
export type AskStatus = 'waiting' | 'answered' | 'failed' | 'timeout' | 'cancelled' | 'sent';

export interface SessionRef {
  readonly sessionId: string;
  readonly name: string;
  readonly user: string;
}

export interface Ask {
  readonly id: string;
  readonly kind: 'ask' | 'tell';
  /** Chosen by the asking tool call; asking again with it finds this ask instead of asking twice. */
  readonly requestId: string;
  readonly from: SessionRef & { readonly promptId: string | undefined };
  readonly to: SessionRef;
  /** The target's prompt that carries the question. */
  readonly promptId: string;
  readonly text: string;
  /** 1 for a question from a prompt no session sent; one more for each session that passed it on. */
  readonly depth: number;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly status: AskStatus;
  readonly answer?: string;
  readonly costUsd?: number;
  readonly outcome?: TurnOutcome;
  readonly reason?: string;
  /** Whether a question given up on was taken out of the target's queue before it started. */
  readonly withdrawn?: boolean;
  readonly closedAt?: string;
  /** The asking call was lost in a daemon restart: the answer reaches the asker as a new prompt. */
  readonly followUp?: boolean;
  /** The id the late answer's prompt gets, chosen before it is sent: sending it again finds that prompt. */
  readonly followUpPromptId?: string;
  /** The outcome was handed to a waiting call. */
  readonly returned?: boolean;
}

/** Closed asks are kept this long, so asking again with a request id finds the stored answer. */
const KEEP_CLOSED_MS = 24 * 3_600_000;

/** Asks on disk, one JSON file each, written durably and atomically: a restart loses none. */
export class AskStore {
  constructor(private readonly dir: string) {
    ensurePrivateDir(dir);
  }

  save(ask: Ask): void {
    writeJsonAtomic(this.file(ask.id), ask, { durable: true });
  }

  /** Every ask on disk; closed ones older than a day are removed on the way. */
  loadAll(now = Date.now()): Ask[] {
    const asks: Ask[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      let ask: Ask | undefined;
      try {
        ask = readJsonFile<Ask>(path.join(this.dir, name));
      } catch {
        continue;
      }
      if (!ask) continue;
      if (ask.status !== 'waiting' && ask.closedAt && now - Date.parse(ask.closedAt) > KEEP_CLOSED_MS) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      asks.push(ask);
    }
    return asks.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

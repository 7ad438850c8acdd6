import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, readJsonFile, writeJsonAtomic } from 'claude-ext/extension';

export type QuestionStatus = 'open' | 'answered' | 'timeout' | 'cancelled';

export interface Question {
  readonly id: string;
  /** Chosen by the asking tool call; asking again with it (after a daemon restart) finds this question. */
  readonly requestId: string;
  readonly sessionId: string;
  readonly promptId: string | undefined;
  readonly user: string;
  readonly question: string;
  readonly options: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly status: QuestionStatus;
  readonly answer?: string;
  readonly answeredBy?: string;
  readonly closedAt?: string;
  readonly reason?: string;
  /**
   * The asking tool call was lost (its CLI gave up on it during a daemon restart) and its turn ended:
   * an answer reaches the session as a new prompt instead.
   */
  readonly followUp?: boolean;
  /** The id the answer's prompt gets: handing it on again after a crash finds that prompt, not a new one. */
  readonly followUpPromptId?: string;
}

/** Closed questions are kept this long, so a late answer is told it was late. */
const KEEP_CLOSED_MS = 24 * 3_600_000;

/** Questions on disk, one JSON file each, written atomically: a restart loses none. */
export class QuestionStore {
  constructor(private readonly dir: string) {
    ensurePrivateDir(dir);
  }

  save(question: Question): void {
    writeJsonAtomic(this.file(question.id), question, { durable: true });
  }

  load(id: string): Question | undefined {
    if (!/^q_[A-Za-z0-9_-]+$/.test(id)) return undefined;
    return readJsonFile<Question>(this.file(id));
  }

  /** Every question on disk; closed ones older than a day are removed on the way. */
  loadAll(now = Date.now()): Question[] {
    const questions: Question[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      let question: Question | undefined;
      try {
        question = readJsonFile<Question>(path.join(this.dir, name));
      } catch {
        continue;
      }
      if (!question) continue;
      if (question.status !== 'open' && question.closedAt && now - Date.parse(question.closedAt) > KEEP_CLOSED_MS) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      questions.push(question);
    }
    return questions.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

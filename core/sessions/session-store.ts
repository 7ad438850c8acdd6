import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, readJsonFile, writeFileAtomic, writeJsonAtomic } from '../util/files.ts';
import type { PromptRecord, SessionState } from './session-types.ts';

export interface SessionFiles {
  readonly dir: string;
  readonly state: string;
  readonly prompts: string;
  readonly input: string;
  readonly stream: string;
  readonly stderr: string;
  readonly exit: string;
  readonly script: string;
  readonly delivered: string;
}

/** A session's directory on disk: its state, its prompts, and the files its CLI process reads and writes. */
export class SessionStore {
  constructor(readonly root: string) {
    ensurePrivateDir(root);
  }

  files(id: string): SessionFiles {
    const dir = path.join(this.root, id);
    return {
      dir,
      state: path.join(dir, 'state.json'),
      prompts: path.join(dir, 'prompts'),
      input: path.join(dir, 'input.jsonl'),
      stream: path.join(dir, 'stream.jsonl'),
      stderr: path.join(dir, 'stderr.log'),
      exit: path.join(dir, 'exit'),
      script: path.join(dir, 'launch.sh'),
      delivered: path.join(dir, 'delivered'),
    };
  }

  /** Every session on disk; a directory whose state cannot be read is reported, not fatal. */
  loadAll(onUnreadable: (id: string, error: Error) => void): SessionState[] {
    const sessions: SessionState[] = [];
    for (const entry of fs.readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      try {
        const state = readJsonFile<SessionState>(this.files(entry.name).state);
        if (state) sessions.push(state);
      } catch (error) {
        onUnreadable(entry.name, error as Error);
      }
    }
    return sessions;
  }

  create(state: SessionState): void {
    const files = this.files(state.id);
    ensurePrivateDir(files.dir);
    ensurePrivateDir(files.prompts);
    this.save(state);
  }

  save(state: SessionState): void {
    writeJsonAtomic(this.files(state.id).state, state, { durable: true });
  }

  remove(id: string): void {
    fs.rmSync(this.files(id).dir, { recursive: true, force: true });
  }

  /**
   * Prompts still queued, running or waiting for delivery live in `prompts/`; a finished one that was
   * delivered (and acknowledged by each of its frontends) moves to `prompts/done/`, so a start reads only
   * what is still open.
   */
  savePrompt(prompt: PromptRecord): void {
    const prompts = this.files(prompt.sessionId).prompts;
    const active = path.join(prompts, `${prompt.id}.json`);
    if (prompt.status === 'done' && prompt.delivered && unacknowledged(prompt).length === 0) {
      const done = path.join(prompts, 'done');
      ensurePrivateDir(done);
      writeJsonAtomic(path.join(done, `${prompt.id}.json`), prompt, { durable: true });
      fs.rmSync(active, { force: true });
    } else {
      writeJsonAtomic(active, prompt, { durable: true });
    }
  }

  loadPrompt(sessionId: string, promptId: string): PromptRecord | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(promptId)) return undefined;
    const prompts = this.files(sessionId).prompts;
    return readJsonFile<PromptRecord>(path.join(prompts, `${promptId}.json`)) ?? readJsonFile<PromptRecord>(path.join(prompts, 'done', `${promptId}.json`));
  }

  /** Records that a prompt's result reached the delivery callbacks. */
  markDelivered(sessionId: string, promptId: string): void {
    const prompt = this.loadPrompt(sessionId, promptId);
    if (prompt && !prompt.delivered) this.savePrompt({ ...prompt, delivered: true });
  }

  /** Records (durably) that a frontend acknowledged a prompt's result. */
  markAcknowledged(sessionId: string, promptId: string, frontend: string): void {
    const prompt = this.loadPrompt(sessionId, promptId);
    if (!prompt || (prompt.deliveredTo ?? []).includes(frontend)) return;
    this.savePrompt({ ...prompt, deliveredTo: [...(prompt.deliveredTo ?? []), frontend] });
  }

  loadPrompts(sessionId: string, onUnreadable: (file: string, error: Error) => void): PromptRecord[] {
    const dir = this.files(sessionId).prompts;
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      return [];
    }
    const prompts: PromptRecord[] = [];
    for (const name of names) {
      try {
        const prompt = readJsonFile<PromptRecord>(path.join(dir, name));
        if (prompt) prompts.push(prompt);
      } catch (error) {
        onUnreadable(path.join(dir, name), error as Error);
      }
    }
    return prompts.sort((a, b) => a.seq - b.seq);
  }

  readDeliveredOffset(id: string): number {
    try {
      const value = Number(fs.readFileSync(this.files(id).delivered, 'utf8').trim());
      return Number.isFinite(value) && value >= 0 ? value : 0;
    } catch {
      return 0;
    }
  }

  /** Not fsync-ed: it only has to survive the daemon's death, which leaves the page cache intact. */
  writeDeliveredOffset(id: string, offset: number): void {
    writeFileAtomic(this.files(id).delivered, `${offset}\n`);
  }
}

/** The frontends a finished prompt's result is for that have not acknowledged it yet. */
export function unacknowledged(prompt: Pick<PromptRecord, 'frontends' | 'deliveredTo'>): string[] {
  const acknowledged = prompt.deliveredTo ?? [];
  return (prompt.frontends ?? []).filter((frontend) => !acknowledged.includes(frontend));
}

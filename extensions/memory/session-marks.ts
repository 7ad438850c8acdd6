import { readJsonFile, writeJsonAtomic } from 'claude-ext/extension';

interface SessionMark {
  /** The note index this session's system prompt carries (fixed, so the prompt does not change per save). */
  indexText?: string;
  /** The conversation was compacted: its next prompt gets the index again. */
  indexDue?: boolean;
  /** The session was asked to save its memory since its last compaction. */
  flushed?: boolean;
  /** The silent turn asking it, chosen before it is submitted; cleared once it has its result. */
  flushPromptId?: string;
}

/** What memory keeps per session, on disk so a restart changes no session's system prompt. */
export class SessionMarks {
  private readonly marks: Record<string, SessionMark>;

  constructor(private readonly file: string) {
    this.marks = readJsonFile<Record<string, SessionMark>>(file) ?? {};
  }

  get(sessionId: string): Readonly<SessionMark> {
    return this.marks[sessionId] ?? {};
  }

  update(sessionId: string, change: Partial<SessionMark>): void {
    const next = { ...this.marks[sessionId], ...change };
    for (const key of Object.keys(next) as (keyof SessionMark)[]) if (next[key] === undefined || next[key] === false) delete next[key];
    if (Object.keys(next).length === 0) delete this.marks[sessionId];
    else this.marks[sessionId] = next;
    this.save();
  }

  /** Every session with a mark. */
  entries(): Array<[string, Readonly<SessionMark>]> {
    return Object.entries(this.marks);
  }

  /** Forgets sessions that are gone. */
  keepOnly(sessionIds: ReadonlySet<string>): void {
    let changed = false;
    for (const id of Object.keys(this.marks)) {
      if (!sessionIds.has(id)) {
        delete this.marks[id];
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private save(): void {
    writeJsonAtomic(this.file, this.marks);
  }
}

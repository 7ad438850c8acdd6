import path from 'node:path';
import Database from 'better-sqlite3';
import type { EngineEvent } from 'claude-ext/extension';

/** An event with the id a client resumes from (`Last-Event-ID`). */
export interface NumberedEvent {
  readonly id: number;
  readonly event: EngineEvent;
}

/** Gets each new event of its session, and `undefined` once when the session is forgotten (deleted). */
type Listener = (event: NumberedEvent | undefined) => void;

/** A session may hold this many events over its limit before the oldest are dropped, so dropping is not per event. */
const SLACK_FRACTION = 0.1;

/**
 * The recent events of each session, kept in SQLite (`events.db` in the extension's data directory,
 * WAL) so a client that lost its stream resumes after the last id it saw, also after a restart of
 * the daemon. Ids come from one AUTOINCREMENT sequence, which never gives an id twice, even after
 * rows are deleted; a new file's sequence starts at a number taken from the clock, so ids of an
 * earlier file are lower. Each session keeps its newest `perSession` events (up to 10% more between
 * trims); the newest id dropped is kept, so a client asking for older ones learns it missed some.
 */
export class EventStore {
  private readonly db: Database.Database;
  private readonly counts = new Map<string, number>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly statements;

  constructor(
    dir: string,
    private readonly perSession: number,
    start = Date.now() * 1000,
  ) {
    this.db = new Database(path.join(dir, 'events.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, id);
      CREATE TABLE IF NOT EXISTS dropped (session_id TEXT PRIMARY KEY, up_to INTEGER NOT NULL);
    `);
    const sequence = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined;
    if (sequence === undefined) this.db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)").run(start);
    this.statements = {
      insert: this.db.prepare('INSERT INTO events (session_id, data) VALUES (?, ?)'),
      since: this.db.prepare('SELECT id, data FROM events WHERE session_id = ? AND id > ? ORDER BY id'),
      cutoff: this.db.prepare('SELECT id FROM events WHERE session_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?'),
      trim: this.db.prepare('DELETE FROM events WHERE session_id = ? AND id <= ?'),
      setDropped: this.db.prepare('INSERT INTO dropped (session_id, up_to) VALUES (?, ?) ON CONFLICT (session_id) DO UPDATE SET up_to = excluded.up_to'),
      dropped: this.db.prepare('SELECT up_to FROM dropped WHERE session_id = ?'),
      forgetEvents: this.db.prepare('DELETE FROM events WHERE session_id = ?'),
      forgetDropped: this.db.prepare('DELETE FROM dropped WHERE session_id = ?'),
      approvalRequest: this.db.prepare(
        "SELECT data FROM events WHERE session_id = ? AND json_extract(data, '$.type') = 'approval_requested' AND json_extract(data, '$.id') = ? ORDER BY id DESC LIMIT 1",
      ),
    };
    for (const row of this.db.prepare('SELECT session_id, COUNT(*) AS n FROM events GROUP BY session_id').all() as Array<{ session_id: string; n: number }>) {
      this.counts.set(row.session_id, row.n);
    }
  }

  /** Keeps the event (on disk before any follower gets it) and hands it to the session's followers. */
  add(event: EngineEvent): NumberedEvent {
    const id = Number(this.statements.insert.run(event.sessionId, JSON.stringify(event)).lastInsertRowid);
    const numbered = { id, event };
    const count = (this.counts.get(event.sessionId) ?? 0) + 1;
    this.counts.set(event.sessionId, count);
    if (count > this.perSession * (1 + SLACK_FRACTION)) this.trim(event.sessionId);
    for (const listener of this.listeners.get(event.sessionId) ?? []) listener(numbered);
    return numbered;
  }

  /** The session's kept events after `afterId` (all kept ones without it), oldest first. */
  since(sessionId: string, afterId: number | undefined): NumberedEvent[] {
    const rows = this.statements.since.all(sessionId, afterId ?? -1) as Array<{ id: number; data: string }>;
    return rows.map((row) => ({ id: row.id, event: JSON.parse(row.data) as EngineEvent }));
  }

  /** Whether events after `afterId` were dropped (the client missed some). */
  missed(sessionId: string, afterId: number): boolean {
    const row = this.statements.dropped.get(sessionId) as { up_to: number } | undefined;
    return row !== undefined && afterId < row.up_to;
  }

  /** The kept `approval_requested` event of an approval (redacted, as every client was shown it), if still kept. */
  approvalRequest(sessionId: string, approvalId: string): Extract<EngineEvent, { type: 'approval_requested' }> | undefined {
    const row = this.statements.approvalRequest.get(sessionId, approvalId) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Extract<EngineEvent, { type: 'approval_requested' }>) : undefined;
  }

  subscribe(sessionId: string, listener: Listener): () => void {
    const set = this.listeners.get(sessionId) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(sessionId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(sessionId);
    };
  }

  /** The sessions events are kept for. */
  sessionIds(): string[] {
    return [...this.counts.keys()];
  }

  forget(sessionId: string): void {
    for (const listener of this.listeners.get(sessionId) ?? []) listener(undefined);
    this.listeners.delete(sessionId);
    this.db.transaction(() => {
      this.statements.forgetEvents.run(sessionId);
      this.statements.forgetDropped.run(sessionId);
    })();
    this.counts.delete(sessionId);
  }

  close(): void {
    this.db.close();
  }

  private trim(sessionId: string): void {
    const cutoff = this.statements.cutoff.get(sessionId, this.perSession) as { id: number } | undefined;
    if (cutoff === undefined) return;
    this.db.transaction(() => {
      this.statements.trim.run(sessionId, cutoff.id);
      this.statements.setDropped.run(sessionId, cutoff.id);
    })();
    this.counts.set(sessionId, this.perSession);
  }
}

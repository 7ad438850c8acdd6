import type { EngineEvent } from 'claude-ext/extension';

/** An event with the id a client resumes from (`Last-Event-ID`). */
export interface NumberedEvent {
  readonly id: number;
  readonly event: EngineEvent;
}

/** Gets each new event of its session, and `undefined` once when the session is forgotten (deleted). */
type Listener = (event: NumberedEvent | undefined) => void;

/**
 * The recent events of each session, numbered in one sequence for the daemon's lifetime, so a client
 * that lost its stream asks for what came after the last id it saw. Ids start at a number taken from
 * the clock, so ids of an earlier daemon run are lower than any of this one.
 */
export class EventBuffer {
  private next: number;
  private readonly bySession = new Map<string, NumberedEvent[]>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** The newest id dropped from each session's buffer. */
  private readonly droppedUpTo = new Map<string, number>();

  constructor(
    private readonly perSession: number,
    start = Date.now() * 1000,
  ) {
    this.next = start;
  }

  add(event: EngineEvent): NumberedEvent {
    const numbered = { id: ++this.next, event };
    const list = this.bySession.get(event.sessionId) ?? [];
    list.push(numbered);
    if (list.length > this.perSession) {
      const dropped = list.splice(0, list.length - this.perSession);
      this.droppedUpTo.set(event.sessionId, dropped[dropped.length - 1]!.id);
    }
    this.bySession.set(event.sessionId, list);
    for (const listener of this.listeners.get(event.sessionId) ?? []) listener(numbered);
    return numbered;
  }

  /** The session's kept events after `afterId` (all kept ones without it), oldest first. */
  since(sessionId: string, afterId: number | undefined): NumberedEvent[] {
    const list = this.bySession.get(sessionId) ?? [];
    return afterId === undefined ? [...list] : list.filter((e) => e.id > afterId);
  }

  /** Whether events after `afterId` were dropped from the buffer (the client missed some). */
  missed(sessionId: string, afterId: number): boolean {
    return afterId < (this.droppedUpTo.get(sessionId) ?? -1);
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
    return [...this.bySession.keys()];
  }

  forget(sessionId: string): void {
    for (const listener of this.listeners.get(sessionId) ?? []) listener(undefined);
    this.listeners.delete(sessionId);
    this.bySession.delete(sessionId);
    this.droppedUpTo.delete(sessionId);
  }
}

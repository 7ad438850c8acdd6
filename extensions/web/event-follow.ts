import type { EventStore, NumberedEvent } from './event-store.ts';

/** What a stream does with a session's events: send one, or end because the session was deleted. */
export interface EventSink {
  event(numbered: NumberedEvent): void;
  deleted(): void;
}

/**
 * Hands `sink` the session's kept events after `afterId` (all kept ones without it), then each new
 * one, none twice and none left out: it subscribes before it replays, and drops what the replay
 * already sent. Returns the unsubscribe.
 */
export function followEvents(store: EventStore, sessionId: string, afterId: number | undefined, sink: EventSink): () => void {
  let sentUpTo = afterId ?? -1;
  const queued: NumberedEvent[] = [];
  let replaying = true;
  const forward = (numbered: NumberedEvent): void => {
    if (numbered.id <= sentUpTo) return;
    sentUpTo = numbered.id;
    sink.event(numbered);
  };
  const unsubscribe = store.subscribe(sessionId, (numbered) => {
    if (numbered === undefined) sink.deleted();
    else if (replaying) queued.push(numbered);
    else forward(numbered);
  });
  for (const numbered of [...store.since(sessionId, afterId), ...queued]) forward(numbered);
  replaying = false;
  return unsubscribe;
}

/**
 * A client that has not read this much of the live events sent to it is too slow: it is dropped, not
 * buffered for. The replay at the start may be larger: it is sent at once and counts on top.
 */
export const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

/** How much may wait unread for a client: the replay's bytes, then MAX_UNREAD_BYTES more. */
export class UnreadAllowance {
  private bytes = 0;
  private live = false;

  constructor(private readonly max = MAX_UNREAD_BYTES) {}

  /** Counts a message sent during the replay; false once live if `unread` is over the allowance. */
  fits(messageBytes: number, unread: number): boolean {
    if (!this.live) {
      this.bytes += messageBytes;
      return true;
    }
    return unread <= this.bytes + this.max;
  }

  /** The replay is over: from now on the unread bytes are checked. */
  goLive(): void {
    this.live = true;
  }
}

import type { WebSocket } from 'ws';
import { followEvents, UnreadAllowance } from './event-follow.ts';
import type { EventStore } from './event-store.ts';

const PING_MS = 15_000;
/** Close codes: the session was deleted (normal), the client read too slowly (try again later). */
const CLOSE_DELETED = 1000;
const CLOSE_TOO_SLOW = 1013;

/**
 * A session's events over a WebSocket, the same as the SSE stream: JSON text messages
 * `{"id": N, "type": "<event type>", "data": <event>}`, first the kept ones after `afterId`, then the
 * live ones; `{"type": "gap", "after": N}` first when some after `afterId` are no longer kept; and
 * `{"type": "deleted", "sessionId": ...}` before the server closes the socket when the session is
 * deleted. A client that leaves more than MAX_UNREAD_BYTES of live events unread is closed with 1013;
 * it reconnects with the last id it got.
 */
export function socketEvents(socket: WebSocket, store: EventStore, sessionId: string, afterId: number | undefined, allowance = new UnreadAllowance()): void {
  const send = (message: unknown): void => {
    if (socket.readyState !== socket.OPEN) return;
    const text = JSON.stringify(message);
    socket.send(text);
    if (!allowance.fits(Buffer.byteLength(text), socket.bufferedAmount)) {
      socket.close(CLOSE_TOO_SLOW, 'too slow: reconnect with last_event_id');
      // A client that does not even read the close frame is cut off.
      setTimeout(() => socket.terminate(), 1000).unref();
    }
  };
  if (afterId !== undefined && store.missed(sessionId, afterId)) send({ type: 'gap', after: afterId });
  const unsubscribe = followEvents(store, sessionId, afterId, {
    event: ({ id, event }) => send({ id, type: event.type, data: event }),
    deleted: () => {
      send({ type: 'deleted', sessionId });
      socket.close(CLOSE_DELETED, 'the session was deleted');
    },
  });
  allowance.goLive();
  const ping = setInterval(() => socket.ping(), PING_MS);
  ping.unref();
  socket.on('close', () => {
    clearInterval(ping);
    unsubscribe();
  });
  socket.on('error', () => socket.terminate());
}

import type { FastifyReply } from 'fastify';
import { followEvents, UnreadAllowance } from './event-follow.ts';
import type { EventStore } from './event-store.ts';

const KEEPALIVE_MS = 15_000;

/**
 * Streams a session's events as Server-Sent Events: first the kept events after `afterId` (all kept
 * ones without it), then each new one, until the client goes away or the session is deleted (a last
 * `deleted` message). Each message's `id` is what the client sends back as `Last-Event-ID`; its
 * `event` is the engine event's type. A `gap` message says that events after `afterId` were no longer
 * kept. A client that leaves more than MAX_UNREAD_BYTES of live events unread is cut off; it
 * reconnects and resumes.
 */
export function streamEvents(reply: FastifyReply, store: EventStore, sessionId: string, afterId: number | undefined, allowance = new UnreadAllowance()): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const write = (text: string): void => {
    if (res.destroyed) return;
    res.write(text);
    if (!allowance.fits(Buffer.byteLength(text), res.writableLength)) res.destroy();
  };
  write('retry: 1000\n\n');
  if (afterId !== undefined && store.missed(sessionId, afterId)) write(`event: gap\ndata: ${JSON.stringify({ after: afterId })}\n\n`);
  const unsubscribe = followEvents(store, sessionId, afterId, {
    event: ({ id, event }) => write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
    deleted: () => res.end(`event: deleted\ndata: ${JSON.stringify({ sessionId })}\n\n`),
  });
  allowance.goLive();
  const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  res.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
  });
}

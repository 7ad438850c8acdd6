import type { FastifyReply } from 'fastify';
import type { EventBuffer, NumberedEvent } from './event-buffer.ts';

const KEEPALIVE_MS = 15_000;

/**
 * Streams a session's events as Server-Sent Events: first the kept events after `afterId` (all kept
 * ones without it), then each new one, until the client goes away or the session is deleted (a last
 * `deleted` message). Each message's `id` is what the
 * client sends back as `Last-Event-ID`; its `event` is the engine event's type. A `gap` message says
 * that events after `afterId` were no longer kept.
 */
export function streamEvents(reply: FastifyReply, buffer: EventBuffer, sessionId: string, afterId: number | undefined): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = ({ id, event }: NumberedEvent): void => {
    res.write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  res.write('retry: 1000\n\n');
  if (afterId !== undefined && buffer.missed(sessionId, afterId)) res.write(`event: gap\ndata: ${JSON.stringify({ after: afterId })}\n\n`);
  // Subscribe before replaying, and drop what the replay already sent: nothing falls between the two.
  let sentUpTo = afterId ?? -1;
  const queued: NumberedEvent[] = [];
  let replaying = true;
  const unsubscribe = buffer.subscribe(sessionId, (event) => {
    if (event === undefined) {
      res.end(`event: deleted\ndata: ${JSON.stringify({ sessionId })}\n\n`);
      return;
    }
    if (replaying) queued.push(event);
    else if (event.id > sentUpTo) {
      send(event);
      sentUpTo = event.id;
    }
  });
  for (const event of [...buffer.since(sessionId, afterId), ...queued]) {
    if (event.id <= sentUpTo) continue;
    send(event);
    sentUpTo = event.id;
  }
  replaying = false;
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const close = (): void => {
    clearInterval(keepalive);
    unsubscribe();
  };
  res.on('close', close);
}

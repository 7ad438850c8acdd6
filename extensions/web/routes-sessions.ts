/** Sessions, their prompts and their live events. */
import { z } from 'zod';
import { DEFAULT_USER, type ExtensionApprovals, type ExtensionSessions, type ExtensionUsage, type PromptRecord, type SessionSummary } from 'claude-ext/extension';
import { actingUser, HttpError, notFound, route, socketRoute, visibleUser, type Principal, type Route, type SocketRoute } from './api.ts';
import type { EventStore } from './event-store.ts';
import { pendingBySession } from './routes-approvals.ts';
import { streamEvents } from './sse.ts';
import { socketEvents } from './websocket.ts';

const user = z.string().min(1).max(128).describe('The user to act for (the admin token only; a user token acts for its own user)');
const sessionParams = z.object({ id: z.string().min(1).max(200).describe('A session id or name') });
const promptParams = sessionParams.extend({ promptId: z.string().min(1).max(200) });
const newSession = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  cwd: z.string().min(1).max(4096).optional(),
  template: z.string().min(1).max(100).optional(),
  user: user.optional(),
});
const promptBody = z.strictObject({
  text: z.string().min(1).max(100_000),
  wait: z.boolean().default(false).describe('Answer once the prompt has its result (else at once, 202)'),
  timeoutSeconds: z.number().positive().max(3600).default(600).describe('With wait: answer 202 with the prompt as it is after this long'),
  model: z.string().min(1).max(100).optional(),
});
const eventsQuery = z.object({ lastEventId: z.coerce.number().int().nonnegative().optional().describe('Resume after this event id (or send Last-Event-ID)') });

/** The session a caller may see, by id or name; another user's session is as unknown as a missing one. */
export function ownSession(sessions: ExtensionSessions, principal: Principal, ref: string): SessionSummary {
  try {
    return sessions.find(ref, visibleUser(principal));
  } catch {
    throw notFound(`session "${ref}"`);
  }
}

function prompt(sessions: ExtensionSessions, sessionId: string, promptId: string): PromptRecord {
  try {
    return sessions.getPrompt(sessionId, promptId);
  } catch {
    throw notFound(`prompt "${promptId}" in session ${sessionId}`);
  }
}

/** A session as the list shows it: its summary, what it cost today (UTC), and how many tool calls wait for approval. */
export type SessionListEntry = SessionSummary & { readonly costToday: number; readonly pendingApprovals: number };

export function sessionRoutes(sessions: ExtensionSessions, events: EventStore, usage: ExtensionUsage, approvals: ExtensionApprovals): Route[] {
  return [
    route({
      method: 'GET', url: '/api/sessions', tag: 'sessions',
      summary: "The caller's sessions (every user's for the admin), each with costToday (UTC) beside counters.costUsd (the total) and pendingApprovals",
      query: z.object({ user: user.optional() }),
      handler: ({ principal, query }) => {
        const owner = principal.kind === 'admin' ? query.user : principal.user;
        const today = new Map(usage.sessionCosts(owner).map((c) => [c.sessionId, c.today]));
        const waiting = pendingBySession(approvals, owner);
        const list: SessionListEntry[] = sessions.list(owner).map((s) => ({ ...s, costToday: today.get(s.id) ?? 0, pendingApprovals: waiting.get(s.id) ?? 0 }));
        return { body: list };
      },
    }),
    route({
      method: 'POST', url: '/api/sessions', tag: 'sessions', summary: 'Creates a session', body: newSession,
      handler: ({ principal, body }) => {
        const { user: requested, ...request } = body;
        return { status: 201, body: sessions.create({ ...request, user: actingUser(principal, requested, DEFAULT_USER) }) };
      },
    }),
    route({
      method: 'GET', url: '/api/sessions/:id', tag: 'sessions', summary: 'One session', params: sessionParams,
      handler: ({ principal, params }) => ({ body: ownSession(sessions, principal, params.id) }),
    }),
    route({
      method: 'PATCH', url: '/api/sessions/:id', tag: 'sessions', summary: 'Renames a session', params: sessionParams,
      body: z.strictObject({ name: z.string().min(1).max(100) }),
      handler: ({ principal, params, body }) => ({ body: sessions.rename(ownSession(sessions, principal, params.id).id, body.name) }),
    }),
    route({
      method: 'DELETE', url: '/api/sessions/:id', tag: 'sessions', summary: 'Deletes a session (its process ends)', params: sessionParams,
      handler: async ({ principal, params }) => {
        const session = ownSession(sessions, principal, params.id);
        await sessions.delete(session.id);
        events.forget(session.id);
        return { body: { deleted: session.id } };
      },
    }),
    route({
      method: 'POST', url: '/api/sessions/:id/stop', tag: 'sessions', summary: 'Interrupts the running turn; with clear, drops the queue too', params: sessionParams,
      body: z.strictObject({ clear: z.boolean().default(false) }).default({ clear: false }),
      handler: async ({ principal, params, body }) => {
        const session = ownSession(sessions, principal, params.id);
        return { body: await sessions.stop(session.id, { user: session.user, clear: body.clear }) };
      },
    }),
    route({
      method: 'GET', url: '/api/sessions/:id/queue', tag: 'sessions',
      summary: "The running prompt and the waiting ones (id, preview, position, queuedAt), in the order they run; extensions' silent prompts are not shown",
      params: sessionParams,
      handler: ({ principal, params }) => {
        const session = ownSession(sessions, principal, params.id);
        const running = session.currentPromptId !== undefined ? prompt(sessions, session.id, session.currentPromptId) : undefined;
        const waiting = sessions.queued(session.id);
        return { body: { status: session.status, queued: waiting.length, current: running && !running.options.silent ? running : null, waiting } };
      },
    }),
    route({
      method: 'DELETE', url: '/api/sessions/:id/queue/:promptId', tag: 'sessions',
      summary: "Withdraws a waiting prompt: it never runs, and its result is 'cancelled'; 409 once it has started",
      params: promptParams,
      handler: async ({ principal, params }) => {
        const session = ownSession(sessions, principal, params.id);
        if (!sessions.queued(session.id).some((p) => p.id === params.promptId)) {
          const known = prompt(sessions, session.id, params.promptId);
          // A queued prompt that is not listed is an extension's silent one: as unknown as a missing one.
          if (known.status === 'queued') throw notFound(`waiting prompt "${params.promptId}" in session ${session.id}`);
          throw new HttpError(409, 'not_queued', `prompt ${known.id} is ${known.status === 'running' ? 'running: stop it instead' : 'finished'}, so it cannot be withdrawn`);
        }
        if (!(await sessions.withdraw(session.id, params.promptId, 'withdrawn over the HTTP API'))) throw new HttpError(409, 'not_queued', `prompt ${params.promptId} started meanwhile: stop it instead`);
        return { body: prompt(sessions, session.id, params.promptId) };
      },
    }),
    route({
      method: 'POST', url: '/api/sessions/:id/prompts', tag: 'prompts', summary: 'Submits a prompt; with wait, answers with its result', params: sessionParams, body: promptBody,
      handler: async ({ principal, params, body, signal }) => {
        const session = ownSession(sessions, principal, params.id);
        const submitted = sessions.submit({ user: session.user, session: session.id, text: body.text, ...(body.model ? { options: { model: body.model } } : {}) });
        if (!body.wait) return { status: 202, body: { ...submitted.prompt, position: submitted.position } };
        const timeout = AbortSignal.timeout(body.timeoutSeconds * 1000);
        try {
          return { body: await sessions.waitForPrompt(session.id, submitted.prompt.id, AbortSignal.any([signal, timeout])) };
        } catch (error) {
          if (!timeout.aborted) throw error;
          return { status: 202, body: prompt(sessions, session.id, submitted.prompt.id) };
        }
      },
    }),
    route({
      method: 'GET', url: '/api/sessions/:id/prompts/:promptId', tag: 'prompts', summary: "A prompt's status, and its result once it has one", params: promptParams,
      handler: ({ principal, params }) => ({ body: prompt(sessions, ownSession(sessions, principal, params.id).id, params.promptId) }),
    }),
    route({
      method: 'GET', url: '/api/sessions/:id/prompts/:promptId/result', tag: 'prompts', summary: "Waits for a prompt's result (at most timeoutSeconds, then 202 with the prompt)",
      params: promptParams, query: z.object({ timeoutSeconds: z.coerce.number().positive().max(3600).default(60) }),
      handler: async ({ principal, params, query, signal }) => {
        const session = ownSession(sessions, principal, params.id);
        prompt(sessions, session.id, params.promptId);
        const timeout = AbortSignal.timeout(query.timeoutSeconds * 1000);
        try {
          return { body: await sessions.waitForPrompt(session.id, params.promptId, AbortSignal.any([signal, timeout])) };
        } catch (error) {
          if (!timeout.aborted) throw error;
          return { status: 202, body: prompt(sessions, session.id, params.promptId) };
        }
      },
    }),
    route({
      method: 'GET', url: '/api/sessions/:id/events', tag: 'events', produces: 'text/event-stream',
      summary: "The session's events as Server-Sent Events (text as it streams, tool calls and results, questions, results); resumes after Last-Event-ID",
      params: sessionParams, query: eventsQuery,
      handler: ({ principal, params, query, headers }, reply) => {
        const session = ownSession(sessions, principal, params.id);
        const header = headers['last-event-id'];
        const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
        streamEvents(reply, events, session.id, fromHeader ?? query.lastEventId);
        return 'hijacked';
      },
    }),
  ];
}

/** The session's events over a WebSocket: the same events, ids and resume as the SSE stream. */
export function sessionSockets(sessions: ExtensionSessions, events: EventStore): SocketRoute[] {
  return [
    socketRoute({
      url: '/api/sessions/:id/ws', tag: 'events',
      summary: "The session's events over a WebSocket, as JSON messages {id, type, data}; resumes after last_event_id",
      params: sessionParams,
      query: z.object({ last_event_id: z.coerce.number().int().nonnegative().optional().describe('Resume after this event id') }),
      connect: ({ principal, params, query }) => {
        const session = ownSession(sessions, principal, params.id);
        return (socket) => socketEvents(socket, events, session.id, query.last_event_id);
      },
    }),
  ];
}

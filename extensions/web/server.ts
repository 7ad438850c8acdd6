/** The Fastify server: authentication, validation that names the field, errors as JSON, limits. */
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from 'claude-ext/extension';
import { HttpError, route, type Principal, type Route, type SocketRoute } from './api.ts';
import { Authenticator } from './auth.ts';
import { registerDashboard } from './dashboard.ts';
import { openApiDocument } from './openapi.ts';

export interface ServerOptions {
  readonly maxBody: number;
  /** Requests per minute per credential. */
  readonly rateLimit: number;
  /** The cookie gets `Secure` (the API is reached over HTTPS, through a proxy). */
  readonly secureCookie: boolean;
  readonly logger: Logger;
}

/** Core's typed errors (`error.code`) that say something about the request, and the status they get. */
const STATUS_OF_CODE: Record<string, number> = { session_not_found: 404, prompt_not_found: 404, session_limit: 409, invalid_request: 400 };

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> | undefined {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new HttpError(400, 'invalid_request', `${field}: ${issue.message}`, field);
}

function credentialKey(request: FastifyRequest): string {
  const credential = request.headers.authorization ?? request.headers.cookie;
  return typeof credential === 'string' ? crypto.createHash('sha256').update(credential).digest('hex') : `ip:${request.ip}`;
}

/**
 * A browser opening a WebSocket sends its cookie whatever page asked for the socket (SameSite aside),
 * and no CORS check applies to WebSockets: the Origin header must name this very server.
 */
function checkSameOrigin(headers: FastifyRequest['headers']): void {
  const origin = headers.origin;
  let host: string | undefined;
  try {
    host = typeof origin === 'string' ? new URL(origin).host : undefined;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== headers.host) throw new HttpError(403, 'origin', 'a WebSocket opened with the login cookie must come from a page of this server (its Origin header)');
}

export async function buildServer(routes: readonly Route[], auth: Authenticator, options: ServerOptions, sockets: readonly SocketRoute[] = []): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: options.maxBody, logger: false });
  await app.register(rateLimit, { max: options.rateLimit, timeWindow: 60_000, keyGenerator: credentialKey });
  // Clients send nothing over the socket but control frames.
  await app.register(websocket, { options: { maxPayload: 4096 } });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof HttpError) return reply.status(error.status).send({ error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } });
    const typed = typeof error.code === 'string' ? STATUS_OF_CODE[error.code] : undefined;
    if (typed !== undefined) return reply.status(typed).send({ error: { code: error.code, message: error.message } });
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      const code = error.statusCode === 413 ? 'body_too_large' : error.statusCode === 429 ? 'rate_limited' : 'bad_request';
      return reply.status(error.statusCode).send({ error: { code, message: error.message } });
    }
    options.logger.error('a web request failed', { method: request.method, url: request.routeOptions.url, error: error.message });
    return reply.status(500).send({ error: { code: 'internal', message: error.message } });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }));

  const all: Route[] = [...routes, ...ownRoutes(auth, options, () => document)];
  const document = openApiDocument(all, '1', sockets);
  for (const r of sockets) registerSocketRoute(app, auth, r);
  for (const r of all) {
    app.route({
      method: r.method,
      url: r.url,
      onRequest: async (request: FastifyRequest) => {
        if (r.auth === 'none') return;
        const principal = auth.authenticate(request.method, request.headers);
        if (r.auth === 'admin' && principal.kind !== 'admin') throw new HttpError(403, 'forbidden', 'this needs the admin token');
        principals.set(request, principal);
      },
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const controller = new AbortController();
        // The client went away before the answer was written: stop waiting for it.
        reply.raw.on('close', () => {
          if (!reply.raw.writableEnded) controller.abort();
        });
        const output = await r.handler(
          {
            params: parse(r.params, request.params, 'params'),
            query: parse(r.query, request.query, 'query'),
            body: parse(r.body, request.body, 'body'),
            principal: principals.get(request) ?? { kind: 'admin' },
            signal: controller.signal,
            headers: request.headers,
          },
          reply,
        );
        if (output === 'hijacked') return reply;
        return reply.status(output.status ?? 200).send(output.body);
      },
    });
  }
  registerDashboard(app);
  return app;
}

const principals = new WeakMap<FastifyRequest, Principal>();
const openers = new WeakMap<FastifyRequest, (socket: WebSocket) => void>();

function registerSocketRoute(app: FastifyInstance, auth: Authenticator, r: SocketRoute): void {
  app.route({
    method: 'GET',
    url: r.url,
    websocket: true,
    preValidation: async (request: FastifyRequest) => {
      const principal = auth.authenticate('GET', request.headers);
      if (request.headers.authorization === undefined) checkSameOrigin(request.headers);
      if (!request.ws) throw new HttpError(426, 'upgrade_required', `${r.url} is a WebSocket: send Upgrade: websocket`);
      openers.set(request, r.connect({ params: parse(r.params, request.params, 'params'), query: parse(r.query, request.query, 'query'), principal, headers: request.headers }));
    },
    handler: (socket: WebSocket, request: FastifyRequest) => {
      openers.get(request)?.(socket);
    },
  });
}

/** Routes of the server itself: its own description, and the browser's login. */
function ownRoutes(auth: Authenticator, options: ServerOptions, document: () => unknown): Route[] {
  return [
    route({ method: 'GET', url: '/api/openapi.json', tag: 'meta', auth: 'none', summary: 'This document', handler: () => ({ body: document() }) }),
    route({
      method: 'GET', url: '/api/whoami', tag: 'meta', summary: 'Who the credential belongs to',
      handler: ({ principal }) => ({ body: principal.kind === 'admin' ? { admin: true } : { admin: false, user: principal.user } }),
    }),
    route({
      method: 'POST', url: '/api/login', tag: 'meta', auth: 'none',
      summary: 'Exchanges a token for an HttpOnly, SameSite=Strict session cookie; answers the CSRF token writes must send as X-CSRF-Token',
      body: z.strictObject({ token: z.string().min(1).max(200) }),
      handler: ({ body }, reply) => {
        const { cookie, csrf, principal } = auth.login(body.token);
        reply.header('set-cookie', Authenticator.cookieHeader(cookie, options.secureCookie));
        return { body: { csrfToken: csrf, ...(principal.kind === 'admin' ? { admin: true } : { admin: false, user: principal.user }) } };
      },
    }),
    route({
      method: 'POST', url: '/api/logout', tag: 'meta', auth: 'none', summary: 'Ends the browser session',
      handler: ({ headers }, reply) => {
        auth.logout(headers);
        reply.header('set-cookie', Authenticator.cookieHeader('', options.secureCookie));
        return { body: { loggedOut: true } };
      },
    }),
  ];
}

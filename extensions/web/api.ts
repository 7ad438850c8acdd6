/** The shape every route of the HTTP API is declared in: one table serves Fastify and the OpenAPI document. */
import type { FastifyReply } from 'fastify';
import type { WebSocket } from 'ws';
import type { z } from 'zod';

/** Who is calling: the admin (the admin token) or one user (an API token, or a browser logged in with one). */
export type Principal = { readonly kind: 'admin' } | { readonly kind: 'user'; readonly user: string; readonly tokenId: string };

/** An answer other than 200, with a snake_case code a client can act on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, 'not_found', `no ${what}`);

export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly principal: Principal;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What a handler answers: a JSON body (status 200 unless said), or `hijacked` after writing the reply itself. */
export type RouteOutput = { readonly status?: number; readonly body: unknown } | 'hijacked';

export interface Route<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify's form: `/api/sessions/:id`. */
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** `admin`: the admin token only; `none`: no credential (the OpenAPI document, login). Default: any. */
  readonly auth?: 'any' | 'admin' | 'none';
  /** Not JSON: `text/event-stream`. */
  readonly produces?: string;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>, reply: FastifyReply): RouteOutput | Promise<RouteOutput>;
}

/**
 * A route a client opens a WebSocket on (`GET` with `Upgrade: websocket`). `connect` runs before the
 * upgrade with the request checked like any other (its HttpError is the HTTP answer, no socket is
 * opened) and answers what to do with the socket once it is open.
 */
export interface SocketRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  connect(input: Omit<RouteInput<z.output<P>, z.output<Q>, undefined>, 'body' | 'signal'>): (socket: WebSocket) => void;
}

export function socketRoute<P extends z.ZodType, Q extends z.ZodType>(spec: SocketRoute<P, Q>): SocketRoute {
  return spec as unknown as SocketRoute;
}

/** Keeps each route's handler typed by its own schemas while the table holds them all. */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: Route<P, Q, B>): Route {
  return spec as unknown as Route;
}

/** The user whose things the caller sees: one user, or every user (`undefined`) for the admin. */
export function visibleUser(principal: Principal): string | undefined {
  return principal.kind === 'admin' ? undefined : principal.user;
}

/** The user a request acts for: a user token's own user (naming another is refused), the named user for the admin. */
export function actingUser(principal: Principal, requested: string | undefined, fallback: string): string {
  if (principal.kind === 'admin') return requested ?? fallback;
  if (requested !== undefined && requested !== principal.user) throw new HttpError(403, 'forbidden', `this token acts for user "${principal.user}" only`, 'user');
  return principal.user;
}

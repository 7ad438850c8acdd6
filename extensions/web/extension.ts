import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { size, type Extension, type Health } from 'claude-ext/extension';
import { Authenticator, BROWSER_SESSION_MS } from './auth.ts';
import { BrowserSessions } from './browser-sessions.ts';
import { EventStore } from './event-store.ts';
import { METHODS, tokenCreateParams, tokenListParams, tokenRevokeParams } from './protocol.ts';
import { BridgeMethods, bridgeRoutes } from './routes-bridge.ts';
import { miscRoutes } from './routes-misc.ts';
import { approvalRoutes } from './routes-approvals.ts';
import { usageRoutes } from './routes-usage.ts';
import { sessionRoutes, sessionSockets } from './routes-sessions.ts';
import { buildServer } from './server.ts';
import { TokenStore } from './token-store.ts';

const PRUNE_EVERY_MS = 10 * 60_000;

const configSchema = z.strictObject({
  /** host:port; port 0 picks a free one (health says which). */
  listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, such as 127.0.0.1:7878').default('127.0.0.1:7878'),
  /** Needed to listen anywhere but loopback. */
  allow_remote: z.boolean().default(false),
  /** A reverse proxy terminates TLS in front of the API: no warning for a remote address, cookies get Secure. */
  behind_tls_proxy: z.boolean().default(false),
  max_body: size.default(1024 * 1024),
  /** Requests per minute per credential. */
  rate_limit: z.number().int().min(1).max(100_000).default(600),
  /** Events kept per session for clients that reconnect (Last-Event-ID). */
  events_per_session: z.number().int().min(10).max(100_000).default(2000),
});

type WebConfig = z.output<typeof configSchema>;

export function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  return { host: listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(listen.slice(at + 1)) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export default (): Extension<WebConfig> => {
  let server: FastifyInstance | undefined;
  let closeServer: (() => Promise<void>) | undefined;
  let address = '';
  return {
    name: 'web',
    description: 'An HTTP API to the daemon: sessions, prompts, live events, questions, health',
    configSchema,
    async start(ctx) {
      const { host, port } = splitListen(ctx.config.listen);
      if (!isLoopback(host)) {
        if (!ctx.config.allow_remote) throw new Error(`web.listen ${ctx.config.listen} is not a loopback address: set web.allow_remote: true to serve other machines`);
        if (!ctx.config.behind_tls_proxy) ctx.logger.warn('the HTTP API listens beyond loopback without TLS: tokens cross the network in clear; put a TLS reverse proxy in front and set behind_tls_proxy', { listen: ctx.config.listen });
      }
      const tokens = new TokenStore(ctx.dataDir);
      ctx.addBridgeMethod(METHODS.tokenCreate, { params: tokenCreateParams, access: 'admin' }, (p) => {
        const created = tokens.create(p.user, p.name);
        ctx.record('web_token_created', { user: created.user, token_id: created.id, name: created.name });
        return created;
      });
      ctx.addBridgeMethod(METHODS.tokenList, { params: tokenListParams, access: 'admin' }, (p) => tokens.list(p.user));
      ctx.addBridgeMethod(METHODS.tokenRevoke, { params: tokenRevokeParams, access: 'admin' }, (p) => {
        const revoked = tokens.revoke(p.ref, p.user);
        if (!revoked) throw new Error(`no token "${p.ref}"${p.user !== undefined ? ` of user ${p.user}` : ''}; see claude-ext token list`);
        ctx.record('web_token_revoked', { user: revoked.user, token_id: revoked.id });
        return revoked;
      });

      const events = new EventStore(ctx.dataDir, ctx.config.events_per_session);
      // Tracked first, so it closes after everything that writes to it is undone.
      ctx.track({ dispose: () => events.close() });
      ctx.onEvent((event) => {
        events.add(event);
      });
      // Sessions deleted by others (an ephemeral cron run, the CLI, or while the daemon was down) take their kept events with them.
      const prune = (): void => {
        for (const id of events.sessionIds()) if (!ctx.sessions.get(id)) events.forget(id);
      };
      prune();
      ctx.setInterval(prune, PRUNE_EVERY_MS);
      const routes = [
        ...sessionRoutes(ctx.sessions, events, ctx.usage, ctx.approvals),
        ...approvalRoutes(ctx.approvals, events),
        ...usageRoutes(ctx.usage),
        ...miscRoutes(ctx),
        ...bridgeRoutes(new BridgeMethods(ctx)),
      ];
      const app = await buildServer(routes, new Authenticator(ctx.adminCredential, tokens, new BrowserSessions(ctx.dataDir, BROWSER_SESSION_MS)), {
        maxBody: ctx.config.max_body,
        rateLimit: ctx.config.rate_limit,
        secureCookie: ctx.config.behind_tls_proxy,
        logger: ctx.logger,
      }, sessionSockets(ctx.sessions, events));
      let closing: Promise<void> | undefined;
      closeServer = () => {
        // Open event streams would keep close() waiting: end them first.
        app.server.closeAllConnections();
        return (closing ??= app.close().catch((error: unknown) => ctx.logger.warn('the HTTP server did not close cleanly', { error })));
      };
      ctx.track({ dispose: () => void closeServer?.() });
      await app.listen({ host, port });
      server = app;
      const bound = app.server.address();
      address = typeof bound === 'object' && bound ? `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : ctx.config.listen;
      ctx.logger.info('the HTTP API listens', { address });
      ctx.record('web_listening', { address });
    },
    async stop() {
      await closeServer?.();
      server = undefined;
    },
    healthCheck(): Health {
      return server ? { status: 'ok', detail: `listening on ${address}` } : { status: 'error', reason: 'not listening' };
    },
  };
};

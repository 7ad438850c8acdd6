import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { SessionServer } from '../extension-host/contributions.ts';
import type { SessionTokens } from '../bridge/credentials.ts';
import { writeFileAtomic } from '../util/files.ts';
import type { Logger } from '../util/log.ts';
import type { SessionSummary } from '../sessions/session-types.ts';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CallJournal } from './call-journal.ts';
import { mayRunAgain, rerunToolCall, sessionToolServer, type InProcessDispatch, type SessionToolsOptions } from './session-tools.ts';
import type { ToolGrants } from './tool-grants.ts';

/** Largest request body the endpoint reads. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** How long a request that arrives while the daemon starts waits for its extensions. */
const READY_WAIT_MS = 30_000;
const PATH = /^\/mcp\/([A-Za-z0-9_-]{1,64})$/;
/**
 * How long a CLI whose tool-call stream broke waits before it asks again (it asks twice): a daemon
 * restarted within twice this time finishes the call.
 */
const RESUME_RETRY_MS = 5_000;
const KEEP_ALIVE_MS = 15_000;
/** After this long, calls journalled by an earlier daemon that no CLI resumed are removed. */
const STALE_CALL_MS = 20_000;

export interface EndpointDeps {
  readonly logger: Logger;
  readonly tokens: SessionTokens;
  readonly grants: ToolGrants;
  readonly journal: CallJournal;
  readonly server: (name: string) => SessionServer | undefined;
  readonly session: (id: string) => SessionSummary | undefined;
  readonly dispatch: InProcessDispatch;
  readonly stateDir: string;
  /** Settles once the extensions have started; requests that arrive earlier wait for it. */
  readonly ready: Promise<void>;
  /** A call of the previous daemon that its CLI never came back for: that turn waits on it in vain. */
  readonly onAbandoned?: (sessionId: string, call: { readonly server: string; readonly tool: string }) => void;
}

export interface ListenAddress {
  readonly host: string;
  /** 0: the port of the previous run when it is free, else any free port. */
  readonly port: number;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The daemon's MCP endpoint: every session's daemon-served tools over Streamable HTTP on loopback.
 * `POST /mcp/<server>` with `Authorization: Bearer <token of the server's extension>`. Stateless:
 * each request gets a fresh server bound to the token's session, so a restarted daemon answers the
 * requests of CLI processes that outlived it.
 */
export class McpEndpoint {
  private httpServer: http.Server | undefined;
  private boundUrl: string | undefined;
  private readonly inflight = new Map<string, { controller: AbortController; ref: string | undefined }>();
  /** Journalled calls running in this daemon (refs). */
  private readonly running = new Set<string>();
  private closing = false;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EndpointDeps) {}

  get url(): string {
    if (!this.boundUrl) throw new Error('the MCP endpoint is not listening');
    return this.boundUrl;
  }

  /** Calls of tools that are running now (for tests and status). */
  get runningCalls(): number {
    return this.inflight.size;
  }

  async listen(address: ListenAddress, portFile: string): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    // Generous for CLI processes starved of CPU while many start at once.
    server.headersTimeout = 60_000;
    server.requestTimeout = 60_000;
    const remembered = address.port === 0 ? readPort(portFile) : undefined;
    try {
      await bind(server, address.host, remembered ?? address.port);
    } catch (error) {
      if (remembered === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenError(address, error);
      this.deps.logger.warn(`the MCP port of the last run (${remembered}) is taken; sessions get the new one at their next prompt`);
      await bind(server, address.host, 0).catch((retry: unknown) => {
        throw listenError(address, retry);
      });
    }
    const bound = server.address() as AddressInfo;
    writeFileAtomic(portFile, `${bound.port}\n`);
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    this.boundUrl = `http://${host}:${bound.port}`;
    server.on('error', (error) => this.deps.logger.error('MCP endpoint error', { error: error.message }));
    this.httpServer = server;
    // Calls of the previous daemon that no CLI came back for are stale: the CLI retries for about 2.5 s
    // after losing the daemon, then gives up on the call and its turn waits for ever.
    const started = Date.now();
    this.sweepTimer = setTimeout(() => {
      const removed = this.deps.journal.sweep(started);
      if (removed.length > 0) this.deps.logger.warn(`dropped ${removed.length} interrupted tool call(s) that no session came back for`);
      for (const { sessionId, record } of removed) this.deps.onAbandoned?.(sessionId, { server: record.server, tool: record.tool });
    }, STALE_CALL_MS);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    const server = this.httpServer;
    this.httpServer = undefined;
    if (!server) return;
    this.closing = true;
    clearTimeout(this.sweepTimer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // One connection per request. The CLI pools connections across a session's servers; whenever the
    // server closed a kept-alive one (an idle timeout, an error reply) while the CLI was sending on it,
    // the request failed with ECONNRESET and the CLI marked that whole MCP server failed. A loopback
    // connection costs a fraction of a millisecond.
    res.shouldKeepAlive = false;
    try {
      await this.serve(req, res);
    } catch (error) {
      const failure =
        error instanceof HttpFailure ? error : new HttpFailure(500, -32603, `the MCP endpoint failed: ${(error as Error).message}`);
      if (failure.status === 500) this.deps.logger.error(failure.message);
      else if (failure.status !== 405) this.deps.logger.warn(`refused an MCP request: ${failure.status} ${failure.message}`, { method: req.method ?? '', path: req.url ?? '' });
      reply(res, failure);
      if (!req.complete) req.destroy();
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://endpoint');
    const name = PATH.exec(url.pathname)?.[1];
    if (!name) throw new HttpFailure(404, -32601, `nothing is served at ${url.pathname}: a session's tools are at /mcp/<server>`);
    const resumeFrom = req.method === 'GET' ? header(req, 'last-event-id') : undefined;
    if (req.method !== 'POST' && !resumeFrom) throw new HttpFailure(405, -32000, `${req.method} is not served: send MCP messages with POST`, { Allow: 'POST' });
    const grant = this.deps.tokens.verify(bearerToken(req.headers.authorization));
    if (!grant || grant.channel !== 'mcp') throw new HttpFailure(401, -32001, "missing or invalid token: send the Authorization header from the session's MCP config");
    await this.waitReady();
    const session = this.deps.session(grant.sessionId);
    if (!session) throw new HttpFailure(401, -32001, 'the session of this token no longer exists');
    const served = this.deps.server(name);
    if (!served || served.serve.kind !== 'tools') throw new HttpFailure(404, -32601, `no MCP server named ${name} is served (is its extension enabled?)`);
    if (served.owner !== grant.extension) throw new HttpFailure(403, -32001, `this token belongs to the extension ${grant.extension}, not to ${served.owner}`);
    const toolGrant = this.deps.grants.get(session.id, name);
    if (!toolGrant) throw new HttpFailure(403, -32001, `the MCP server ${name} is not given to this session`);
    const tools: SessionToolsOptions = {
      spec: served.serve.spec,
      owner: served.owner,
      grant: toolGrant,
      session,
      stateDir: this.deps.stateDir,
      gateway: url.searchParams.get('gateway') === '1',
      dispatch: this.deps.dispatch,
    };
    if (resumeFrom) await this.resume(res, tools, resumeFrom);
    else await this.post(req, res, tools, await readJson(req));
  }

  /**
   * One POST of MCP messages, answered by a fresh server bound to the session (stateless). The SDK's
   * web-standard transport answers in JSON; a tool call's answer is sent as an event stream that opens
   * with the call's event id at once, so a CLI whose stream breaks with the daemon can resume it.
   */
  private async post(req: http.IncomingMessage, res: http.ServerResponse, tools: SessionToolsOptions, body: unknown): Promise<void> {
    const { session, spec } = tools;
    const cancelled = new AbortController();
    const call = acceptsEventStream(req) ? toolCall(body) : undefined;
    const ref = call ? CallJournal.newRef() : undefined;
    const mcp = sessionToolServer(tools, { cancelled: cancelled.signal, callId: ref ?? CallJournal.newRef() });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    transport.onerror = (error) => this.deps.logger.debug('MCP transport', { server: spec.server, error: error.message });
    if (call && ref) {
      // Only a call that may run again keeps its arguments on disk (they may hold what a tool stores).
      const keep = mayRunAgain(tools, call.name, call.arguments);
      this.deps.journal.open(session.id, { ref, server: spec.server, requestId: call.id, tool: call.name, arguments: keep ? call.arguments : null });
      this.running.add(ref);
    }
    const keys = this.track(session.id, spec.server, body, cancelled, ref);
    const stream = ref ? new EventStream(res) : undefined;
    res.once('close', () => {
      stream?.stop();
      const answered = res.writableFinished;
      if (!answered) cancelled.abort();
      if (ref) {
        this.running.delete(ref);
        // Cut by the daemon's own shutdown: the CLI will resume the call from the next daemon.
        if (answered || !this.closing) this.deps.journal.close(session.id, ref);
      }
      for (const key of keys) if (this.inflight.get(key)?.controller === cancelled) this.inflight.delete(key);
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    stream?.open(`id: ${ref}\nretry: ${RESUME_RETRY_MS}\ndata: \n\n`);
    const answer = await transport.handleRequest(webRequest(req), { parsedBody: body });
    const text = await answer.text();
    if (res.destroyed) return;
    if (stream) {
      stream.end(`${ref}.r`, text.replace(/\n/g, ''));
      return;
    }
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(text);
  }

  /** A CLI reconnecting after a daemon restart: the interrupted call runs again if it may. */
  private async resume(res: http.ServerResponse, tools: SessionToolsOptions, lastEventId: string): Promise<void> {
    const ref = lastEventId.split('.')[0] ?? '';
    if (this.running.has(ref)) throw new HttpFailure(409, -32000, 'that tool call is still running here: there is nothing to resume');
    const record = this.deps.journal.find(tools.session.id, ref);
    const abort = new AbortController();
    const stream = new EventStream(res);
    res.once('close', () => {
      stream.stop();
      if (!res.writableFinished) abort.abort();
    });
    stream.open();
    if (!record || record.server !== tools.spec.server) {
      // Nothing to resume: answer the CLI's pending request (it fills in the id) so the turn goes on.
      stream.end(`${ref}.r`, JSON.stringify({ jsonrpc: '2.0', id: 0, result: lostCall() }));
      return;
    }
    this.deps.logger.info('resuming a tool call after a restart', { session: tools.session.id, server: record.server, tool: record.tool });
    this.running.add(ref);
    try {
      const result = await rerunToolCall(tools, { tool: record.tool, arguments: record.arguments, callId: ref, signal: abort.signal });
      if (abort.signal.aborted && this.closing) return;
      if (!res.destroyed) stream.end(`${ref}.r`, JSON.stringify({ jsonrpc: '2.0', id: record.requestId, result }));
      this.deps.journal.close(tools.session.id, ref);
    } finally {
      this.running.delete(ref);
    }
  }

  /** Registers the body's requests so that a later `notifications/cancelled` can abort them. */
  private track(sessionId: string, server: string, body: unknown, controller: AbortController, ref: string | undefined): string[] {
    const keys: string[] = [];
    for (const message of Array.isArray(body) ? body : [body]) {
      if (!isObject(message)) continue;
      if (message.method === 'notifications/cancelled' && isObject(message.params)) {
        const running = this.inflight.get(callKey(sessionId, server, message.params.requestId));
        running?.controller.abort();
        if (running?.ref) this.deps.journal.close(sessionId, running.ref);
      } else if (typeof message.method === 'string' && 'id' in message) {
        const key = callKey(sessionId, server, message.id);
        this.inflight.set(key, { controller, ref });
        keys.push(key);
      }
    }
    return keys;
  }

  private async waitReady(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.deps.ready,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new HttpFailure(503, -32000, 'the daemon is still starting its extensions; try again', { 'Retry-After': '1' })), READY_WAIT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The one `tools/call` request of a body, if that is what it holds. */
function toolCall(body: unknown): { id: string | number; name: string; arguments: unknown } | undefined {
  if (!isObject(body) || body.method !== 'tools/call' || !isObject(body.params)) return undefined;
  const { id } = body;
  const name = body.params.name;
  if ((typeof id !== 'string' && typeof id !== 'number') || typeof name !== 'string') return undefined;
  return { id, name, arguments: body.params.arguments };
}

const EVENT_STREAM_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' };

function acceptsEventStream(req: http.IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/** The request as the SDK's web-standard transport reads it: method, URL and headers (the body is parsed). */
function webRequest(req: http.IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: 'POST', headers });
}

function lostCall(): CallToolResult {
  return { content: [{ type: 'text', text: 'the daemon restarted and has no record of this tool call; call the tool again if it is still needed' }], isError: true };
}

/** A server-sent event stream for one answer: opened at once, kept alive while the call runs. */
class EventStream {
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly res: http.ServerResponse) {
    // A write racing the client going away must not become an unhandled 'error' that ends the daemon.
    res.on('error', () => undefined);
  }

  open(first?: string): void {
    this.res.writeHead(200, EVENT_STREAM_HEADERS);
    if (first) this.res.write(first);
    this.keepAlive = setInterval(() => {
      if (this.res.writableEnded || this.res.destroyed) this.stop();
      else this.res.write(': keepalive\n\n');
    }, KEEP_ALIVE_MS);
  }

  /** Sends the answer (a JSON-RPC message) as the last event and ends the response. */
  end(id: string, message: string): void {
    this.stop();
    this.res.end(`id: ${id}\nevent: message\ndata: ${message}\n\n`);
  }

  stop(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function callKey(sessionId: string, server: string, id: unknown): string {
  return `${sessionId}\u0000${server}\u0000${JSON.stringify(id)}`;
}

function bearerToken(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1] ?? '';
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_REQUEST_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpFailure(400, -32700, `parse error: the body is not JSON (${(error as Error).message})`);
  }
}

function tooLarge(): HttpFailure {
  return new HttpFailure(413, -32600, `the request is larger than ${MAX_REQUEST_BYTES} bytes`);
}

function reply(res: http.ServerResponse, failure: HttpFailure): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: failure.code, message: failure.message } });
  res.writeHead(failure.status, { 'Content-Type': 'application/json', Connection: 'close', ...failure.headers });
  res.end(body);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function readPort(file: string): number | undefined {
  try {
    const port = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

function bind(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function listenError(address: ListenAddress, error: unknown): Error {
  return new Error(`the MCP endpoint cannot listen on ${address.host}:${address.port}: ${(error as Error).message} (set mcp.listen in config.yaml)`);
}

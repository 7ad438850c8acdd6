import fs from 'node:fs';
import net from 'node:net';
import { AUTH_METHOD, type MethodAccess, type Principal } from './bridge-protocol.ts';
import { SocketConnection, type ConnectionHost } from './rpc-connection.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import type { Logger } from '../util/log.ts';
import { CANCEL_METHOD, DEFAULT_MAX_LINE_BYTES, PROGRESS_METHOD, RpcError, RpcErrorCode } from './rpc-protocol.ts';

/** Longest Unix socket path the kernel accepts (sun_path minus its terminator). */
const MAX_SOCKET_PATH_BYTES = 107;
export const DEFAULT_MAX_CONNECTIONS = 256;
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** An `auth` request is a few hundred bytes: before it, a line may be no longer than this. */
export const DEFAULT_MAX_UNAUTHENTICATED_LINE_BYTES = 64 * 1024;
/** How long a refused connection may take to take its answer before it is cut. */
const REFUSAL_GRACE_MS = 1000;

export type { RpcCallContext, RpcConnection, RpcHandler } from './rpc-call.ts';
import type { RpcCallContext, RpcConnection, RpcHandler } from './rpc-call.ts';

export interface RpcServerOptions {
  readonly socketPath: string;
  readonly logger: Logger;
  readonly maxLineBytes?: number;
  /** Connections served at once (default 256); one more is answered with an error and closed. */
  readonly maxConnections?: number;
  /** An unauthenticated connection is closed after this long (default 10 s). */
  readonly authTimeoutMs?: number;
  /** The longest line before authentication (default 64 KiB); a longer one closes the connection. */
  readonly maxUnauthenticatedLineBytes?: number;
  /**
   * Maps a credential to its principal; without it every connection is admin (tests, in-process use).
   * `not-ready` closes the connection so the client tries again later.
   */
  readonly authenticate?: (token: string) => Principal | undefined | 'not-ready';
}

interface MethodEntry {
  readonly handler: RpcHandler;
  readonly access: MethodAccess;
  /** The extension whose method this is; sessions reach it only through that extension's tokens. */
  readonly owner: string | undefined;
}

export interface MethodOptions {
  /** Default `admin`. */
  readonly access?: MethodAccess;
  /** The extension that registers it (undefined for the daemon's own methods). */
  readonly owner?: string;
}

/** The daemon's JSON-RPC endpoint: a method table, served on a Unix socket and in-process. */
export class RpcServer {
  private readonly methods = new Map<string, MethodEntry>();
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  private nextConnectionId = 1;
  private readonly connectionHost: ConnectionHost;
  private maxConnections: number;
  /** When a refusal was last logged, so a flood of connections logs one line a minute. */
  private lastRefusalLogged = 0;
  private refusedSinceLog = 0;

  constructor(private readonly options: RpcServerOptions) {
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.connectionHost = {
      logger: options.logger,
      maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      maxUnauthenticatedLineBytes: options.maxUnauthenticatedLineBytes ?? DEFAULT_MAX_UNAUTHENTICATED_LINE_BYTES,
      authTimeoutMs: options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
      authenticate: options.authenticate ?? (() => ({ kind: 'admin' })),
      invoke: (method, params, ctx) => this.invoke(method, params, ctx),
    };
  }

  /** Adds a method (admin-only unless `access` says otherwise); disposing the result removes it. */
  register(method: string, handler: RpcHandler, options: MethodOptions = {}): Disposable {
    if (this.methods.has(method)) throw new Error(`the method ${method} is already registered`);
    if (method === CANCEL_METHOD || method === PROGRESS_METHOD || method === AUTH_METHOD) throw new Error(`${method} is reserved`);
    const entry: MethodEntry = { handler, access: options.access ?? 'admin', owner: options.owner };
    this.methods.set(method, entry);
    return toDisposable(() => {
      if (this.methods.get(method) === entry) this.methods.delete(method);
    });
  }


  /** A new limit applies to connections opened from now on; none is closed for it. */
  setMaxConnections(limit: number): void {
    this.maxConnections = limit;
  }

  /** Connections open now, and the bytes of answers they hold that their clients have not read yet. */
  stats(): { connections: number; unreadReplyBytes: number } {
    let unreadReplyBytes = 0;
    for (const socket of this.sockets) unreadReplyBytes += socket.writableLength;
    return { connections: this.sockets.size, unreadReplyBytes };
  }

  methodNames(): string[] {
    return [...this.methods.keys()].sort();
  }

  /**
   * Runs a method in-process exactly as a socket call would, access rules included. Without a
   * connection the caller acts as `principal` (default: admin).
   */
  async dispatch(
    method: string,
    params: unknown,
    options: { connection?: RpcConnection; principal?: Principal; signal?: AbortSignal; onProgress?: (data: unknown) => void; actingFor?: string } = {},
  ): Promise<unknown> {
    const connection = options.connection ?? { id: 0, principal: options.principal ?? { kind: 'admin' } };
    const ctx: RpcCallContext = {
      method,
      connection,
      principal: connection.principal,
      signal: options.signal ?? new AbortController().signal,
      progress: (data) => options.onProgress?.(data),
      ...(options.actingFor !== undefined ? { actingFor: options.actingFor } : {}),
    };
    return await this.invoke(method, params, ctx);
  }

  async listen(): Promise<void> {
    const socketPath = this.options.socketPath;
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`the control socket path is too long (${Buffer.byteLength(socketPath)} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}): ${socketPath}; choose a shorter state_dir`);
    }
    if (fs.existsSync(socketPath)) {
      if (await socketAnswers(socketPath)) throw new Error(`another daemon is already listening on ${socketPath}`);
      fs.rmSync(socketPath, { force: true });
    }
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const previous = process.umask(0o177);
      try {
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(previous);
      }
    });
    server.on('error', (error) => this.options.logger.error('control socket error', { error: error.message }));
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Looks the method up, checks the caller may call it and calls it: its result, or a promise of it. */
  private invoke(method: string, params: unknown, ctx: RpcCallContext): unknown {
    const entry = this.methods.get(method);
    if (!entry) throw new RpcError(RpcErrorCode.MethodNotFound, `method not found: ${method}`);
    checkAccess(method, entry, ctx.principal);
    return entry.handler(params, ctx);
  }

  private accept(socket: net.Socket): void {
    if (this.sockets.size >= this.maxConnections) {
      this.refuse(socket);
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const principal = this.options.authenticate ? undefined : ({ kind: 'admin' } as const);
    new SocketConnection(this.nextConnectionId++, socket, this.connectionHost, principal);
  }

  /** Answers a connection over the limit with an error that says so, and closes it without reading it. */
  private refuse(socket: net.Socket): void {
    const limit = this.maxConnections;
    const message = `the daemon already serves ${limit} connections (bridge.max_connections): close one or raise the limit, and try again`;
    const answer = { jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.ServerError, message, data: { code: 'connection_limit', limit } } };
    socket.on('error', () => undefined);
    const cut = setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS);
    cut.unref();
    socket.end(`${JSON.stringify(answer)}\n`, () => {
      clearTimeout(cut);
      socket.destroy();
    });
    socket.resume();
    this.refusedSinceLog += 1;
    if (Date.now() - this.lastRefusalLogged >= 60_000) {
      this.options.logger.warn(`refused ${this.refusedSinceLog} connection(s): ${limit} are open already (bridge.max_connections)`);
      this.lastRefusalLogged = Date.now();
      this.refusedSinceLog = 0;
    }
  }
}

function checkAccess(method: string, { access, owner }: MethodEntry, principal: Principal | undefined): void {
  if (access === 'public') return;
  if (!principal || principal.kind === 'anonymous') throw new RpcError(RpcErrorCode.Unauthorized, `${method}: authenticate first (the auth method with a token)`);
  if (access === 'session' && principal.kind !== 'session') throw new RpcError(RpcErrorCode.Unauthorized, `${method} can only be called from a session`);
  if (access === 'admin' && principal.kind !== 'admin') throw new RpcError(RpcErrorCode.Unauthorized, `${method} needs the admin credential`);
  if (principal.kind === 'session' && owner !== undefined && principal.extension !== owner) {
    throw new RpcError(RpcErrorCode.Unauthorized, `${method} belongs to the extension ${owner}; a credential of ${principal.extension} cannot call it`);
  }
}

/** Whether a live process accepts connections on the socket (a stale file does not). */
function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(false);
    }, 1000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

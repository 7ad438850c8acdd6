import fs from 'node:fs';
import net from 'node:net';
import { AUTH_METHOD, type MethodAccess, type Principal } from './bridge-protocol.ts';
import { toErrorObject } from './error-answer.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import { LineSplitter } from '../sessions/claude/line-splitter.ts';
import type { Logger } from '../util/log.ts';
import {
  CANCEL_METHOD,
  DEFAULT_MAX_LINE_BYTES,
  PROGRESS_METHOD,
  RpcError,
  RpcErrorCode,
  salvageId,
  validateRequest,
  type RpcErrorObject,
  type RpcId,
  type RpcRequest,
  type RpcResponse,
} from './rpc-protocol.ts';

/** Longest Unix socket path the kernel accepts (sun_path minus its terminator). */
const MAX_SOCKET_PATH_BYTES = 107;

/** One client connection and who it authenticated as. */
export interface RpcConnection {
  readonly id: number;
  principal: Principal | undefined;
}

export interface RpcCallContext {
  readonly method: string;
  readonly connection: RpcConnection;
  /** Who is calling; set for every method but `public` ones. */
  readonly principal: Principal | undefined;
  /** Aborted when the caller cancels or disconnects. */
  readonly signal: AbortSignal;
  /** Streams a progress notification for this request before its response. */
  progress(data: unknown): void;
}

export type RpcHandler = (params: unknown, ctx: RpcCallContext) => unknown;

export interface RpcServerOptions {
  readonly socketPath: string;
  readonly logger: Logger;
  readonly maxLineBytes?: number;
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

  constructor(private readonly options: RpcServerOptions) {}

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
    options: { connection?: RpcConnection; principal?: Principal; signal?: AbortSignal; onProgress?: (data: unknown) => void } = {},
  ): Promise<unknown> {
    const entry = this.methods.get(method);
    if (!entry) throw new RpcError(RpcErrorCode.MethodNotFound, `method not found: ${method}`);
    const connection = options.connection ?? { id: 0, principal: options.principal ?? { kind: 'admin' } };
    checkAccess(method, entry, connection.principal);
    const ctx: RpcCallContext = {
      method,
      connection,
      principal: connection.principal,
      signal: options.signal ?? new AbortController().signal,
      progress: (data) => options.onProgress?.(data),
    };
    return await entry.handler(params, ctx);
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

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    const connection: RpcConnection = { id: this.nextConnectionId++, principal: this.options.authenticate ? undefined : { kind: 'admin' } };
    const inflight = new Map<RpcId, AbortController>();
    const send = (message: RpcResponse | { jsonrpc: '2.0'; method: string; params: unknown }): void => {
      if (socket.destroyed || !socket.writable) return;
      let line: string;
      try {
        line = JSON.stringify(message);
      } catch (error) {
        const id = 'id' in message ? message.id : null;
        line = JSON.stringify({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InternalError, message: `the answer cannot be encoded: ${(error as Error).message}` } });
      }
      socket.write(`${line}\n`);
    };
    const splitter = new LineSplitter(
      this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      (line) => this.handleLine(line, connection, inflight, send, socket),
      () => {
        this.options.logger.warn('dropped an oversized request', { connection: connection.id });
        send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.InvalidRequest, message: `request line exceeds ${this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES} bytes` } });
      },
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const controller of inflight.values()) controller.abort(new RpcError(RpcErrorCode.Cancelled, 'the client disconnected'));
      inflight.clear();
    });
  }

  private handleLine(
    line: string,
    connection: RpcConnection,
    inflight: Map<RpcId, AbortController>,
    send: (message: RpcResponse | { jsonrpc: '2.0'; method: string; params: unknown }) => void,
    socket: net.Socket,
  ): void {
    let decoded: unknown;
    try {
      decoded = JSON.parse(line);
    } catch (error) {
      send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.ParseError, message: `parse error: ${(error as Error).message}` } });
      return;
    }
    const request = validateRequest(decoded);
    if (!isRequest(request)) {
      send({ jsonrpc: '2.0', id: salvageId(decoded), error: request });
      return;
    }
    if (request.method === AUTH_METHOD) {
      this.authenticateConnection(request, connection, send, socket);
      return;
    }
    if (request.method === CANCEL_METHOD) {
      const target = (request.params as { id?: RpcId } | undefined)?.id;
      if (target !== undefined) inflight.get(target)?.abort(new RpcError(RpcErrorCode.Cancelled, 'cancelled by the client'));
      return;
    }
    const id = request.id;
    const wantsAnswer = id !== undefined && id !== null;
    if (wantsAnswer && inflight.has(id)) {
      send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InvalidRequest, message: `a request with id ${JSON.stringify(id)} is already running` } });
      return;
    }
    const controller = new AbortController();
    if (wantsAnswer) inflight.set(id, controller);
    void this.dispatch(request.method, request.params, {
      connection,
      signal: controller.signal,
      onProgress: (data) => {
        if (wantsAnswer && !controller.signal.aborted) send({ jsonrpc: '2.0', method: PROGRESS_METHOD, params: { id, data } });
      },
    }).then(
      (result) => {
        if (wantsAnswer) send({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
      },
      (error: unknown) => {
        const object = toErrorObject(error);
        if (object.code === RpcErrorCode.ServerError || object.code === RpcErrorCode.InternalError) {
          this.options.logger.warn(`${request.method} failed`, { error: object.message });
        }
        if (wantsAnswer) send({ jsonrpc: '2.0', id, error: object });
      },
    ).finally(() => {
      if (wantsAnswer && inflight.get(id) === controller) inflight.delete(id);
    });
  }

  private authenticateConnection(request: RpcRequest, connection: RpcConnection, send: (message: RpcResponse) => void, socket: net.Socket): void {
    const id = request.id ?? null;
    const token = (request.params as { token?: unknown } | undefined)?.token;
    const answer = typeof token === 'string' && token.length > 0 ? (this.options.authenticate ? this.options.authenticate(token) : { kind: 'admin' as const }) : undefined;
    if (answer === 'not-ready') {
      socket.destroy();
      return;
    }
    const principal = answer;
    if (!principal) {
      this.options.logger.warn('refused a bridge credential', { connection: connection.id });
      send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.Unauthorized, message: 'the credential is not valid (is the session deleted?)' } });
      return;
    }
    connection.principal = principal;
    send({ jsonrpc: '2.0', id, result: principal });
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

function isRequest(value: RpcRequest | RpcErrorObject): value is RpcRequest {
  return 'method' in value;
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

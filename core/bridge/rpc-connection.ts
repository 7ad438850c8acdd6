import type net from 'node:net';
import { AUTH_METHOD, type Principal } from './bridge-protocol.ts';
import { CallCancellation } from './call-cancellation.ts';
import { toErrorObject } from './error-answer.ts';
import { LineWriter } from './line-writer.ts';
import { LineSplitter } from '../util/line-splitter.ts';
import type { Logger } from '../util/log.ts';
import {
  CANCEL_METHOD,
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
import type { RpcCallContext, RpcConnection } from './rpc-call.ts';

/** What a socket connection needs from the server that accepted it. */
export interface ConnectionHost {
  readonly logger: Logger;
  readonly maxLineBytes: number;
  /** The longest line before the connection has authenticated; a longer one closes it. */
  readonly maxUnauthenticatedLineBytes: number;
  /** An unauthenticated connection is closed after this long. */
  readonly authTimeoutMs: number;
  /** Maps a credential to its principal; `not-ready` closes the connection so the client tries again later. */
  authenticate(token: string): Principal | undefined | 'not-ready';
  /** Runs a method as `ctx.principal`: its result, or a promise of it. Throws for an unknown method or refused access. */
  invoke(method: string, params: unknown, ctx: RpcCallContext): unknown;
}

type OutgoingMessage = RpcResponse | { jsonrpc: '2.0'; method: string; params: unknown };

/**
 * Answers a client does not read are kept only up to this many bytes (about): beyond it the connection
 * stops reading requests until the client has taken them.
 */
export const MAX_REPLY_BACKLOG_BYTES = 256 * 1024;
/** Requests of one connection running at once; beyond it the connection stops reading until some end. */
export const MAX_RUNNING_CALLS = 1024;
/** How long a closing connection may take to hand its last answer over before it is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * One client on the socket: splits its bytes into request lines, runs each, and writes the answers.
 * A call whose handler answers at once is answered in the same tick, without a promise. A client that
 * does not read its answers (or has too many calls running) is not read from either until it does.
 */
export class SocketConnection implements RpcConnection {
  principal: Principal | undefined;
  private readonly writer: LineWriter;
  private readonly splitter: LineSplitter;
  /** Calls still running, by id, so the client can cancel them and a closing socket aborts them. */
  private readonly running = new Map<RpcId, SocketCall>();
  /** Calls running, notifications included. */
  private runningCount = 0;
  /** The rest of a read not handled yet, while reading is paused. */
  private held: Buffer | undefined;
  private readingPaused = false;
  private closing = false;
  private authTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost,
    principal: Principal | undefined,
  ) {
    this.principal = principal;
    this.writer = new LineWriter(socket, () => this.pauseIfBacklogged());
    this.splitter = new LineSplitter(
      principal ? host.maxLineBytes : Math.min(host.maxLineBytes, host.maxUnauthenticatedLineBytes),
      (line) => this.handleLine(line),
      () => this.oversized(),
    );
    if (!principal) {
      const seconds = host.authTimeoutMs / 1000;
      this.authTimer = setTimeout(() => this.closeWith(RpcErrorCode.Unauthorized, `no valid credential within ${seconds} s: closing the connection (send auth first)`, 'auth_timeout'), host.authTimeoutMs);
      this.authTimer.unref();
    }
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.resumeIfReady());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.authTimer) clearTimeout(this.authTimer);
      this.held = undefined;
      this.abortAll();
    });
  }

  send(message: OutgoingMessage): void {
    if (!this.writer.open) return;
    let line: string;
    try {
      line = JSON.stringify(message);
    } catch (error) {
      const id = 'id' in message ? message.id : null;
      line = JSON.stringify({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InternalError, message: `the answer cannot be encoded: ${(error as Error).message}` } });
    }
    this.writer.send(line);
  }

  /** A call has ended: answer it, and forget it if it was running. */
  settle(call: SocketCall, outcome: { result: unknown } | { error: unknown }): void {
    if (call.id === undefined) {
      if ('error' in outcome) this.logFailure(call.method, toErrorObject(outcome.error));
      return;
    }
    if (this.running.get(call.id) === call) this.running.delete(call.id);
    if ('result' in outcome) {
      this.send({ jsonrpc: '2.0', id: call.id, result: outcome.result === undefined ? null : outcome.result });
      return;
    }
    const error = toErrorObject(outcome.error);
    this.logFailure(call.method, error);
    this.send({ jsonrpc: '2.0', id: call.id, error });
  }

  /** One read: its lines are handled, and their answers leave in one write, while the client keeps up. */
  private receive(chunk: Buffer): void {
    if (this.closing) return;
    let rest: Buffer | undefined;
    this.writer.batch(() => {
      rest = this.splitter.push(chunk, () => this.closing || !this.canRead());
    });
    if (this.closing) return;
    if (rest) this.held = rest;
    if (rest || !this.canRead()) this.pauseReading();
  }

  /** Whether the client takes its answers and has room for more calls. */
  private canRead(): boolean {
    return this.writer.backlog <= MAX_REPLY_BACKLOG_BYTES && this.runningCount < MAX_RUNNING_CALLS;
  }

  private pauseIfBacklogged(): void {
    if (!this.closing && !this.canRead()) this.pauseReading();
  }

  private pauseReading(): void {
    if (!this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
    // A write the kernel took at once leaves no drain to wait for.
    if (this.canRead()) setImmediate(() => this.resumeIfReady());
  }

  /** After a drain or a finished call: reads again (the held rest of a read first) if the client keeps up now. */
  private resumeIfReady(): void {
    if (!this.readingPaused || this.closing || this.socket.destroyed || !this.canRead()) return;
    this.readingPaused = false;
    const held = this.held;
    this.held = undefined;
    if (held) this.receive(held);
    if (!this.readingPaused && !this.closing) this.socket.resume();
  }

  private oversized(): void {
    const limit = this.splitter.maxLineBytes;
    if (!this.principal) {
      this.host.logger.warn('closed an unauthenticated connection that sent an oversized line', { connection: this.id });
      this.closeWith(RpcErrorCode.InvalidRequest, `request line exceeds ${limit} bytes before authentication: closing the connection`, 'line_too_long');
      return;
    }
    this.host.logger.warn('dropped an oversized request', { connection: this.id });
    this.send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.InvalidRequest, message: `request line exceeds ${limit} bytes` } });
  }

  /**
   * Answers with an error (id null, `data.code` saying why: the client learns why the connection ends),
   * hands over what waits, and closes; nothing more is read or run.
   */
  private closeWith(code: number, message: string, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    if (this.authTimer) clearTimeout(this.authTimer);
    this.held = undefined;
    this.send({ jsonrpc: '2.0', id: null, error: { code, message, data: { code: reason } } });
    const cut = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    cut.unref();
    this.writer.end(() => {
      clearTimeout(cut);
      this.socket.destroy();
    });
    // What the client still sends is dropped, so its last writes do not fill the kernel's buffer.
    this.socket.resume();
  }

  private handleLine(line: string): void {
    if (this.closing) return;
    let decoded: unknown;
    try {
      decoded = JSON.parse(line);
    } catch (error) {
      this.send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.ParseError, message: `parse error: ${(error as Error).message}` } });
      return;
    }
    const request = validateRequest(decoded);
    if (!isRequest(request)) {
      this.send({ jsonrpc: '2.0', id: salvageId(decoded), error: request });
      return;
    }
    if (request.method === AUTH_METHOD) {
      this.authenticate(request);
      return;
    }
    if (request.method === CANCEL_METHOD) {
      const target = (request.params as { id?: RpcId } | undefined)?.id;
      if (target !== undefined) this.running.get(target)?.cancel(new RpcError(RpcErrorCode.Cancelled, 'cancelled by the client'));
      return;
    }
    const id = request.id ?? undefined;
    if (id !== undefined && this.running.has(id)) {
      this.send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InvalidRequest, message: `a request with id ${JSON.stringify(id)} is already running` } });
      return;
    }
    this.run(new SocketCall(request.method, this, id), request.params);
  }

  private run(call: SocketCall, params: unknown): void {
    let result: unknown;
    try {
      result = this.host.invoke(call.method, params, call);
    } catch (error) {
      this.settle(call, { error });
      return;
    }
    if (!isPromiseLike(result)) {
      this.settle(call, { result });
      return;
    }
    if (call.id !== undefined) this.running.set(call.id, call);
    this.runningCount += 1;
    const ended = (outcome: { result: unknown } | { error: unknown }): void => {
      this.runningCount -= 1;
      this.settle(call, outcome);
      this.resumeIfReady();
    };
    Promise.resolve(result).then(
      (value) => ended({ result: value }),
      (error: unknown) => ended({ error }),
    );
  }

  private authenticate(request: RpcRequest): void {
    const id = request.id ?? null;
    const token = (request.params as { token?: unknown } | undefined)?.token;
    const answer = typeof token === 'string' && token.length > 0 ? this.host.authenticate(token) : undefined;
    if (answer === 'not-ready') {
      this.closing = true;
      this.socket.destroy();
      return;
    }
    if (!answer) {
      this.host.logger.warn('refused a bridge credential', { connection: this.id });
      this.send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.Unauthorized, message: 'the credential is not valid (is the session deleted?)' } });
      return;
    }
    this.principal = answer;
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.splitter.maxLineBytes = this.host.maxLineBytes;
    this.send({ jsonrpc: '2.0', id, result: answer });
  }

  private logFailure(method: string, error: RpcErrorObject): void {
    if (error.code === RpcErrorCode.ServerError || error.code === RpcErrorCode.InternalError) {
      this.host.logger.warn(`${method} failed`, { error: error.message });
    }
  }

  private abortAll(): void {
    const running = [...this.running.values()];
    this.running.clear();
    for (const call of running) call.cancel(new RpcError(RpcErrorCode.Cancelled, 'the client disconnected'));
  }
}

/** One request read from the socket, as its handler sees it. */
class SocketCall implements RpcCallContext {
  readonly principal: Principal | undefined;
  private readonly cancellation = new CallCancellation();
  private boundProgress: ((data: unknown) => void) | undefined;

  constructor(
    readonly method: string,
    readonly connection: SocketConnection,
    /** Undefined for a notification, which is not answered. */
    readonly id: RpcId | undefined,
  ) {
    this.principal = connection.principal;
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  /** Bound, since handlers pass it on by itself. */
  get progress(): (data: unknown) => void {
    return (this.boundProgress ??= (data) => this.sendProgress(data));
  }

  cancel(reason: RpcError): void {
    this.cancellation.cancel(reason);
  }

  private sendProgress(data: unknown): void {
    if (this.id !== undefined && !this.cancellation.isCancelled) this.connection.send({ jsonrpc: '2.0', method: PROGRESS_METHOD, params: { id: this.id, data } });
  }
}

function isRequest(value: RpcRequest | RpcErrorObject): value is RpcRequest {
  return 'method' in value;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

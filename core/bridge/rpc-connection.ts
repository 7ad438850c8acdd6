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
  /** Maps a credential to its principal; `not-ready` closes the connection so the client tries again later. */
  authenticate(token: string): Principal | undefined | 'not-ready';
  /** Runs a method as `ctx.principal`: its result, or a promise of it. Throws for an unknown method or refused access. */
  invoke(method: string, params: unknown, ctx: RpcCallContext): unknown;
}

type OutgoingMessage = RpcResponse | { jsonrpc: '2.0'; method: string; params: unknown };

/**
 * One client on the socket: splits its bytes into request lines, runs each, and writes the answers.
 * A call whose handler answers at once is answered in the same tick, without a promise.
 */
export class SocketConnection implements RpcConnection {
  principal: Principal | undefined;
  private readonly writer: LineWriter;
  /** Calls still running, by id, so the client can cancel them and a closing socket aborts them. */
  private readonly running = new Map<RpcId, SocketCall>();

  constructor(
    readonly id: number,
    socket: net.Socket,
    private readonly host: ConnectionHost,
    principal: Principal | undefined,
  ) {
    this.principal = principal;
    this.writer = new LineWriter(socket);
    const splitter = new LineSplitter(
      host.maxLineBytes,
      (line) => this.handleLine(line, socket),
      () => {
        host.logger.warn('dropped an oversized request', { connection: id });
        this.send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.InvalidRequest, message: `request line exceeds ${host.maxLineBytes} bytes` } });
      },
    );
    socket.on('data', (chunk: Buffer) => this.writer.batch(() => splitter.push(chunk)));
    socket.on('error', () => undefined);
    socket.on('close', () => this.abortAll());
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

  private handleLine(line: string, socket: net.Socket): void {
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
      this.authenticate(request, socket);
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
    Promise.resolve(result).then(
      (value) => this.settle(call, { result: value }),
      (error: unknown) => this.settle(call, { error }),
    );
  }

  private authenticate(request: RpcRequest, socket: net.Socket): void {
    const id = request.id ?? null;
    const token = (request.params as { token?: unknown } | undefined)?.token;
    const answer = typeof token === 'string' && token.length > 0 ? this.host.authenticate(token) : undefined;
    if (answer === 'not-ready') {
      socket.destroy();
      return;
    }
    if (!answer) {
      this.host.logger.warn('refused a bridge credential', { connection: this.id });
      this.send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.Unauthorized, message: 'the credential is not valid (is the session deleted?)' } });
      return;
    }
    this.principal = answer;
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

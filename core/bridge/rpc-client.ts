import net from 'node:net';
import { LineSplitter } from '../util/line-splitter.ts';
import { CANCEL_METHOD, PROGRESS_METHOD, RpcConnectionError, RpcError, RpcErrorCode, type RpcErrorObject, type RpcId } from './rpc-protocol.ts';

export interface CallOptions {
  /** Receives the request's progress notifications, in order, before it resolves. */
  readonly onProgress?: (data: unknown) => void;
  /** Aborting rejects the call and tells the server to cancel it. */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** A call waiting for its answer, and what to undo once it has one. */
class Pending {
  timer: NodeJS.Timeout | undefined;
  abortListener: { readonly signal: AbortSignal; readonly listener: () => void } | undefined;

  constructor(
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    readonly onProgress: ((data: unknown) => void) | undefined,
  ) {}

  cleanup(): void {
    if (this.timer) clearTimeout(this.timer);
    this.abortListener?.signal.removeEventListener('abort', this.abortListener.listener);
  }
}

/** Largest answer line the client accepts (results may carry whole transcripts). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A JSON-RPC client on one socket connection; concurrent calls are matched to answers by id. */
export class RpcClient {
  private readonly pending = new Map<RpcId, Pending>();
  private nextId = 1;
  private closedReason: string | undefined;
  /** Why the daemon said it closes the connection (an error answer with id null and a code in `data`). */
  private closingNotice: string | undefined;
  private readonly closeListeners = new Set<(reason: string) => void>();

  private constructor(private readonly socket: net.Socket) {
    const splitter = new LineSplitter(MAX_RESPONSE_BYTES, (line) => this.handleLine(line), () => this.fail('the daemon sent an oversized answer'));
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (error) => this.fail(`connection error: ${error.message}`));
    socket.on('close', () => this.fail('the connection to the daemon closed'));
  }

  static connect(socketPath: string, options: { timeoutMs?: number } = {}): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RpcConnectionError(`no answer from ${socketPath} within ${options.timeoutMs ?? 5000} ms`));
      }, options.timeoutMs ?? 5000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcClient(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new RpcConnectionError(`cannot connect to ${socketPath}: ${error.code ?? error.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) listener(this.closedReason);
    else this.closeListeners.add(listener);
  }

  call<T = unknown>(method: string, params: unknown = {}, options: CallOptions = {}): Promise<T> {
    if (this.closedReason !== undefined) return Promise.reject(new RpcConnectionError(this.closedReason));
    if (options.signal?.aborted) return Promise.reject(new RpcError(RpcErrorCode.Cancelled, 'cancelled'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const pending = new Pending(resolve as (value: unknown) => void, reject, options.onProgress);
      this.pending.set(id, pending);
      if (options.timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          this.settle(id)?.reject(new RpcConnectionError(`${method}: no answer within ${options.timeoutMs} ms`));
          this.notify(CANCEL_METHOD, { id });
        }, options.timeoutMs);
      }
      const signal = options.signal;
      if (signal) {
        const listener = (): void => {
          this.settle(id)?.reject(new RpcError(RpcErrorCode.Cancelled, 'cancelled'));
          this.notify(CANCEL_METHOD, { id });
        };
        pending.abortListener = { signal, listener };
        signal.addEventListener('abort', listener, { once: true });
      }
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends a request that expects no answer. */
  notify(method: string, params: unknown = {}): void {
    if (this.closedReason === undefined) this.write({ jsonrpc: '2.0', method, params });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
    this.fail('the client closed the connection');
  }

  private write(message: unknown): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  private settle(id: RpcId): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    this.pending.delete(id);
    pending.cleanup();
    return pending;
  }

  private handleLine(line: string): void {
    let message: { id?: RpcId | null; method?: string; params?: { id?: RpcId; data?: unknown }; result?: unknown; error?: RpcErrorObject };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.method === PROGRESS_METHOD) {
      const target = message.params?.id;
      if (target !== undefined) this.pending.get(target)?.onProgress?.(message.params?.data);
      return;
    }
    if (message.id === undefined || message.id === null) {
      if (message.error && new RpcError(message.error.code, message.error.message, message.error.data).dataCode) this.closingNotice = message.error.message;
      return;
    }
    const pending = this.settle(message.id);
    if (!pending) return;
    if (message.error) pending.reject(new RpcError(message.error.code, message.error.message, message.error.data));
    else pending.resolve(message.result);
  }

  private fail(cause: string): void {
    if (this.closedReason !== undefined) return;
    const reason = this.closingNotice ? `the daemon closed the connection: ${this.closingNotice}` : cause;
    this.closedReason = reason;
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(new RpcConnectionError(reason));
    for (const listener of this.closeListeners) listener(reason);
    this.closeListeners.clear();
    this.socket.destroy();
  }
}

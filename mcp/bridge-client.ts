import { AUTH_METHOD, BRIDGE_ENV, type Principal } from '../core/bridge/bridge-protocol.ts';
import { RpcClient, type CallOptions } from '../core/bridge/rpc-client.ts';
import { RpcConnectionError, RpcError, RpcErrorCode } from '../core/bridge/rpc-protocol.ts';
import { DEFAULT_RECONNECT_POLICY, nextDelay, pause, type ReconnectPolicy } from './backoff.ts';
import { BridgeClosedError, BridgeEnvError, BridgeRestartedError, BridgeUnavailableError } from './bridge-errors.ts';

export interface BridgeCallOptions extends CallOptions {
  /**
   * The call may safely run twice. Only such calls are resent when the daemon restarts while they
   * run; any other call then fails with a BridgeRestartedError.
   */
  readonly idempotent?: boolean;
}

export interface BridgeClientOptions {
  readonly socketPath: string;
  readonly token: string;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** How long one attempt to connect and authenticate may take. */
  readonly connectTimeoutMs?: number;
}

/** An authenticated connection and who the daemon says it acts for. */
interface Link {
  readonly rpc: RpcClient;
  readonly principal: Principal;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/**
 * An MCP server's connection to the daemon's bridge. It connects on first use, authenticates with
 * the session token, and survives daemon restarts by reconnecting with backoff.
 */
export class BridgeClient {
  private readonly policy: ReconnectPolicy;
  private readonly lifetime = new AbortController();
  private current: Link | undefined;
  private connecting: Promise<Link> | undefined;
  /** The daemon's refusal of the token; once set, every call fails with it. */
  private refusal: RpcError | undefined;

  constructor(private readonly options: BridgeClientOptions) {
    this.policy = { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect };
  }

  /** A client for the socket and token the daemon put in this process's environment. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: Omit<BridgeClientOptions, 'socketPath' | 'token'> = {}): BridgeClient {
    const socketPath = env[BRIDGE_ENV.socket];
    const token = env[BRIDGE_ENV.token];
    if (!socketPath || !token) {
      throw new BridgeEnvError([socketPath ? undefined : BRIDGE_ENV.socket, token ? undefined : BRIDGE_ENV.token].filter((name) => name !== undefined));
    }
    return new BridgeClient({ ...options, socketPath, token });
  }

  get closed(): boolean {
    return this.lifetime.signal.aborted;
  }

  /** Who the token stands for, once authenticated. */
  get principal(): Principal | undefined {
    return this.current?.principal;
  }

  /** Connects and authenticates now rather than at the first call. */
  async connect(): Promise<Principal> {
    return (await this.link()).principal;
  }

  /**
   * Calls a method of the daemon. A failure the daemon answered rejects as an RpcError: for a typed
   * error of the method (`cron_job_not_found`) `dataCode` names it and `data` holds its fields.
   */
  async call<T = unknown>(method: string, params: unknown = {}, options: BridgeCallOptions = {}): Promise<T> {
    const limits = new CallLimits(method, options.signal, options.timeoutMs);
    for (;;) {
      const { rpc } = await limits.race(this.link());
      if (rpc.closed) continue;
      try {
        return await rpc.call<T>(method, params, { onProgress: options.onProgress, signal: options.signal, timeoutMs: limits.remainingMs() });
      } catch (error) {
        const connectionLost = error instanceof RpcConnectionError && rpc.closed;
        if (!connectionLost) throw error;
        if (this.closed) throw new BridgeClosedError();
        if (!options.idempotent) throw new BridgeRestartedError(method);
      }
    }
  }

  /** Ends the connection; running and waiting calls fail with a BridgeClosedError. */
  close(): void {
    this.lifetime.abort();
    this.current?.rpc.close();
    this.current = undefined;
  }

  private link(): Promise<Link> {
    if (this.closed) return Promise.reject(new BridgeClosedError());
    if (this.refusal) return Promise.reject(this.refusal);
    if (this.current && !this.current.rpc.closed) return Promise.resolve(this.current);
    this.connecting ??= this.establish().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async establish(): Promise<Link> {
    const started = Date.now();
    let delay = this.policy.initialDelayMs;
    for (;;) {
      if (this.closed) throw new BridgeClosedError();
      let failure: string;
      try {
        return await this.attempt();
      } catch (error) {
        if (!(error instanceof RpcConnectionError)) throw error;
        failure = error.message;
      }
      const waited = Date.now() - started;
      if (waited + delay > this.policy.giveUpAfterMs) throw new BridgeUnavailableError(this.options.socketPath, waited, failure);
      await pause(delay, this.lifetime.signal);
      delay = nextDelay(delay, this.policy);
    }
  }

  private async attempt(): Promise<Link> {
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const rpc = await RpcClient.connect(this.options.socketPath, { timeoutMs });
    const abandon = (): void => rpc.close();
    this.lifetime.signal.addEventListener('abort', abandon, { once: true });
    if (this.closed) rpc.close();
    let principal: Principal;
    try {
      principal = await rpc.call<Principal>(AUTH_METHOD, { token: this.options.token }, { timeoutMs });
    } catch (error) {
      rpc.close();
      if (error instanceof RpcError && error.code === RpcErrorCode.Unauthorized) this.refusal = error;
      throw error;
    } finally {
      this.lifetime.signal.removeEventListener('abort', abandon);
    }
    const link: Link = { rpc, principal };
    this.current = link;
    rpc.onClose(() => {
      if (this.current === link) this.current = undefined;
    });
    return link;
  }
}

/** A call's cancellation signal and overall time limit, which also bound the wait for a reconnection. */
class CallLimits {
  private readonly deadline: number | undefined;

  constructor(
    private readonly method: string,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
  ) {
    this.deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  }

  /** The time left, or undefined without a limit; throws once it has run out. */
  remainingMs(): number | undefined {
    if (this.deadline === undefined) return undefined;
    const left = this.deadline - Date.now();
    if (left <= 0) throw this.timedOut();
    return left;
  }

  race<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.signal?.aborted) throw cancelled();
      const remaining = this.remainingMs();
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish(() => reject(cancelled()));
      const finish = (settle: () => void): void => {
        if (timer) clearTimeout(timer);
        this.signal?.removeEventListener('abort', onAbort);
        settle();
      };
      if (remaining !== undefined) timer = setTimeout(() => finish(() => reject(this.timedOut())), remaining);
      this.signal?.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  private timedOut(): RpcConnectionError {
    return new RpcConnectionError(`${this.method}: no answer within ${this.timeoutMs} ms`);
  }
}

function cancelled(): RpcError {
  return new RpcError(RpcErrorCode.Cancelled, 'cancelled');
}

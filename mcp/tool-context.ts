import { BRIDGE_ENV } from '../core/bridge/bridge-protocol.ts';
import type { BridgeCallOptions, BridgeClient } from './bridge-client.ts';
import { BridgeEnvError } from './bridge-errors.ts';

/**
 * Calls the extension's bridge methods as the session. Tools served by the daemon get an in-process
 * caller; tools of a stdio server get a BridgeClient on the Unix socket. Both behave the same.
 */
export interface BridgeCaller {
  call<T = unknown>(method: string, params?: unknown, options?: BridgeCallOptions): Promise<T>;
}

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  /** Calls the daemon's bridge methods as this session (outside a session it throws a BridgeEnvError). */
  readonly bridge: BridgeCaller;
  /** The session this server serves (throws a BridgeEnvError outside a session). */
  readonly sessionId: string;
  /** The user who owns the session (throws a BridgeEnvError outside a session). */
  readonly userId: string;
  /** The daemon's state directory (throws a BridgeEnvError outside a session). */
  readonly stateDir: string;
  /** Aborted when the MCP client cancels the tool call; pass it on to bridge calls. */
  readonly signal: AbortSignal;
  /**
   * Names this tool call. When the daemon restarts during a call of an idempotent tool, it runs the
   * call again with the same id: use it to find the work the first run started.
   */
  readonly callId: string;
}

/** Creates the bridge client on first use and closes it only if it was created. */
export class LazyBridge {
  private client: BridgeClient | undefined;

  constructor(private readonly create: () => BridgeClient) {}

  get(): BridgeClient {
    this.client ??= this.create();
    return this.client;
  }

  close(): void {
    this.client?.close();
  }
}

/** The context of a tool in a stdio server: the session is read from the environment the daemon set. */
export function envToolContext(env: NodeJS.ProcessEnv, bridge: LazyBridge, signal: AbortSignal, callId: string): ToolContext {
  return {
    get bridge() {
      return bridge.get();
    },
    get sessionId() {
      return required(env, BRIDGE_ENV.sessionId);
    },
    get userId() {
      return required(env, BRIDGE_ENV.userId);
    },
    get stateDir() {
      return required(env, BRIDGE_ENV.stateDir);
    },
    signal,
    callId,
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new BridgeEnvError([name]);
  return value;
}

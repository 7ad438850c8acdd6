import { BRIDGE_ENV } from '../core/bridge-protocol.ts';
import type { BridgeClient } from './bridge-client.ts';
import { BridgeEnvError } from './bridge-errors.ts';

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  /** The daemon's bridge, connected on first use; reading it outside a session throws a BridgeEnvError. */
  readonly bridge: BridgeClient;
  /** The session this server serves (throws a BridgeEnvError outside a session). */
  readonly sessionId: string;
  /** The user who owns the session (throws a BridgeEnvError outside a session). */
  readonly userId: string;
  /** The daemon's state directory (throws a BridgeEnvError outside a session). */
  readonly stateDir: string;
  /** Aborted when the MCP client cancels the tool call; pass it on to bridge calls. */
  readonly signal: AbortSignal;
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

export function toolContext(env: NodeJS.ProcessEnv, bridge: LazyBridge, signal: AbortSignal): ToolContext {
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
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new BridgeEnvError([name]);
  return value;
}

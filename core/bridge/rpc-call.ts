import type { Principal } from './bridge-protocol.ts';

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
  /**
   * Set when an extension calls in-process as the admin acting for one user (`ctx.callMethod` with
   * `user`): the call sees and acts on that user's things only.
   */
  readonly actingFor?: string;
}

export type RpcHandler = (params: unknown, ctx: RpcCallContext) => unknown;

import { AUTH_METHOD } from './bridge-protocol.ts';
import { readAdminToken } from './admin-token.ts';
import { daemonPaths } from '../config/paths.ts';
import { RpcClient } from './rpc-client.ts';
import { RpcConnectionError } from './rpc-protocol.ts';

/** How long a busy daemon may take to answer the first call: a connect that fails says more at once. */
const AUTH_TIMEOUT_MS = 30_000;

/** The daemon accepted the connection but did not answer: it runs, but is overloaded or stuck. */
export class DaemonBusyError extends Error {
  constructor(
    readonly socket: string,
    readonly waitedMs: number,
  ) {
    super(`the daemon on ${socket} accepted the connection but did not answer within ${waitedMs / 1000} s: it is running but overloaded or stuck (see daemon.log in its state dir)`);
    this.name = 'DaemonBusyError';
  }
}

/** Connects to the daemon of a state dir and authenticates with the admin credential. */
export async function connectAsAdmin(stateDir: string, options: { timeoutMs?: number } = {}): Promise<RpcClient> {
  const socket = daemonPaths(stateDir).socket;
  const client = await RpcClient.connect(socket, options);
  const timeoutMs = options.timeoutMs ?? AUTH_TIMEOUT_MS;
  try {
    await client.call(AUTH_METHOD, { token: readAdminToken(stateDir) }, { timeoutMs });
  } catch (error) {
    // Still open: the call timed out rather than the connection dropping.
    const busy = error instanceof RpcConnectionError && !client.closed;
    client.close();
    throw busy ? new DaemonBusyError(socket, timeoutMs) : error;
  }
  return client;
}

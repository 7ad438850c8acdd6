import { AUTH_METHOD } from './bridge-protocol.ts';
import { readAdminToken } from './credentials.ts';
import { daemonPaths } from './paths.ts';
import { RpcClient } from './rpc-client.ts';

/** Connects to the daemon of a state dir and authenticates with the admin credential. */
export async function connectAsAdmin(stateDir: string, options: { timeoutMs?: number } = {}): Promise<RpcClient> {
  const client = await RpcClient.connect(daemonPaths(stateDir).socket, options);
  try {
    await client.call(AUTH_METHOD, { token: readAdminToken(stateDir) }, { timeoutMs: options.timeoutMs ?? 5000 });
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

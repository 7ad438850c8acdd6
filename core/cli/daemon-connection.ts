import { connectAsAdmin } from '../bridge/admin-client.ts';
import type { RpcClient } from '../bridge/rpc-client.ts';
import { RpcConnectionError } from '../bridge/rpc-protocol.ts';
import { daemonPaths } from '../config/paths.ts';
import type { CliContext } from './cli-context.ts';
import { daemonPlaces } from './daemon-places.ts';

/** Connects as the admin to the daemon found the way `start` finds its state dir. */
export async function connectToDaemon(ctx: CliContext, configPath: string | undefined): Promise<RpcClient> {
  const { stateDir } = await daemonPlaces(ctx, configPath);
  try {
    return await connectAsAdmin(stateDir);
  } catch (error) {
    if (!(error instanceof RpcConnectionError)) throw error;
    const socket = daemonPaths(stateDir).socket;
    throw new Error(`the daemon is not running (nothing answers on ${socket}): start it with \`claude-ext start\` (${error.message})`);
  }
}

/** Runs `use` with a fresh connection and closes it afterwards. */
export async function withDaemon<T>(ctx: CliContext, configPath: string | undefined, use: (client: RpcClient) => Promise<T>): Promise<T> {
  const client = await connectToDaemon(ctx, configPath);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

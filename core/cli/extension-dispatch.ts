import type { RpcClient } from '../bridge/rpc-client.ts';
import { RpcError, RpcErrorCode } from '../bridge/rpc-protocol.ts';
import { takeConfigOption, UsageError } from './arguments.ts';
import type { BuiltinCommandContext } from './builtin-command.ts';
import { connectToDaemon } from './daemon-connection.ts';
import { daemonPlaces } from './daemon-places.ts';
import { extensionClis, findExtensionCommand } from './extension-commands.ts';
import { readSecret } from './secret-input.ts';

/** Runs a command an extension adds (`claude-ext vault set ...`) against the daemon as the admin. */
export async function runExtensionCommand(ctx: BuiltinCommandContext, name: string): Promise<number> {
  const { configPath, rest } = takeConfigOption(ctx.args);
  const { extensionsDirs } = await daemonPlaces(ctx, configPath);
  const found = await findExtensionCommand(extensionClis(extensionsDirs), name);
  if (!found) throw new UsageError(`unknown command "${name}"`);
  let client: RpcClient | undefined;
  try {
    return await found.command.run({
      args: rest,
      call: async <T>(method: string, params: Record<string, unknown> = {}) => {
        client ??= await connectToDaemon(ctx, configPath);
        return client.call<T>(method, params);
      },
      out: (text) => ctx.output.out(text),
      err: (text) => ctx.output.err(text),
      readStdin: ctx.stdin,
      readSecret: (prompt) => readSecret(prompt, ctx.stdin),
    });
  } catch (error) {
    if (error instanceof RpcError && error.code === RpcErrorCode.MethodNotFound) {
      throw new Error(`${error.message}: is the ${found.extension} extension enabled? (add it to \`enabled\` in config.yaml and run \`claude-ext reload\`)`);
    }
    throw error;
  } finally {
    client?.close();
  }
}

import { UsageError } from './arguments.ts';
import { builtinCommand } from './builtin-commands.ts';
import type { CliContext, Output } from './cli-context.ts';
import { runExtensionCommand } from './extension-dispatch.ts';
import { runHelp } from './help.ts';

const HELP_NAMES = new Set(['help', '--help', '-h']);

/** Runs one CLI command and returns the process exit code. */
export async function runCli(ctx: CliContext): Promise<number> {
  const [name, ...args] = ctx.argv;
  try {
    if (name === undefined) {
      await runHelp({ ...ctx, args: [] });
      return 2;
    }
    const commandCtx = { ...ctx, args };
    if (HELP_NAMES.has(name)) return await runHelp(commandCtx);
    const builtin = builtinCommand(name);
    if (builtin) return await builtin.run(commandCtx);
    return await runExtensionCommand(commandCtx, name);
  } catch (error) {
    return reportError(ctx.output, error);
  }
}

function reportError(output: Output, error: unknown): number {
  if (error instanceof UsageError) {
    output.err(`claude-ext: ${error.message}\nRun \`claude-ext help\` for usage.\n`);
    return 2;
  }
  if (isSetupError(error)) {
    output.err(`claude-ext: ${error.message}\n`);
    return 2;
  }
  output.err(`claude-ext: ${(error as Error).message ?? String(error)}\n`);
  return 1;
}

/**
 * A configuration that cannot be used or a daemon that cannot start. Told by name: their classes live
 * in modules that most commands do not load.
 */
function isSetupError(error: unknown): error is Error {
  return error instanceof Error && (error.name === 'ConfigError' || error.name === 'StartupError');
}

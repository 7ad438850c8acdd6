import { takeConfigOption, UsageError } from './arguments.ts';
import type { BuiltinCommandContext } from './builtin-command.ts';
import { BUILTIN_COMMANDS, builtinCommand } from './builtin-commands.ts';
import type { CliContext } from './cli-context.ts';
import { daemonPlaces } from './daemon-places.ts';
import { commandsOf, extensionClis, findExtensionCommand, type ExtensionCli } from './extension-commands.ts';

const INTRODUCTION = `claude-ext — Claude Code sessions as an always-on service

Usage: claude-ext <command> [options]
`;

const NOTES = `Every command takes --config FILE; without it ./config.yaml is used when present, else the defaults.
CLAUDE_EXT_STATE_DIR overrides the state dir.
`;

/**
 * `claude-ext help [NAME]`: every built-in command and the extensions that add commands, or the commands
 * of one extension (NAME is the extension or one of its commands). Extension code loads only for NAME.
 */
export async function runHelp(ctx: BuiltinCommandContext): Promise<number> {
  const { configPath, rest } = takeConfigOption(ctx.args);
  if (rest.length === 0) {
    ctx.output.out(`${INTRODUCTION}\n${BUILTIN_COMMANDS.map((command) => `  ${command.usage}\n`).join('')}\n${NOTES}${await extensionsSection(ctx, configPath)}`);
    return 0;
  }
  const [name, ...extra] = rest as [string, ...string[]];
  if (extra.length > 0) throw new UsageError('help takes one NAME: a command or an extension');
  const builtin = builtinCommand(name);
  if (builtin) {
    ctx.output.out(`  ${builtin.usage}\n`);
    return 0;
  }
  const cli = await extensionCliNamed(ctx, configPath, name);
  const commands = await commandsOf(cli);
  ctx.output.out(`Commands of the ${cli.extension} extension:\n${commands.map((command) => `  ${command.usage}\n`).join('')}`);
  return 0;
}

/** The extensions that add commands, by name: listing their commands would mean loading their code. */
async function extensionsSection(ctx: CliContext, configPath: string | undefined): Promise<string> {
  try {
    const clis = extensionClis((await daemonPlaces(ctx, configPath)).extensionsDirs);
    if (clis.length === 0) return '';
    return `\nExtensions with commands (\`claude-ext help EXTENSION\` lists them):\n  ${clis.map((cli) => cli.extension).join('  ')}\n`;
  } catch {
    return '';
  }
}

/** The cli module of the extension called `name`, else of the extension that has a command called so. */
async function extensionCliNamed(ctx: CliContext, configPath: string | undefined, name: string): Promise<ExtensionCli> {
  const clis = extensionClis((await daemonPlaces(ctx, configPath)).extensionsDirs);
  const cli = clis.find((candidate) => candidate.extension === name);
  if (cli) return cli;
  const owner = (await findExtensionCommand(clis, name))?.extension;
  const ownerCli = clis.find((candidate) => candidate.extension === owner);
  if (!ownerCli) throw new UsageError(`no command or extension called "${name}"`);
  return ownerCli;
}

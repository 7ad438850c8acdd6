import fs from 'node:fs';
import path from 'node:path';
import type { ExtensionCommand } from '../extension-host/extension-api.ts';
import { discoverExtensions } from '../extension-host/extension-loader.ts';
import { loadExtensionModule } from './load-extension-module.ts';

/** An extension's `cli.ts`, found on disk and not loaded yet. */
export interface ExtensionCli {
  readonly extension: string;
  readonly file: string;
}

export interface FoundCommand {
  readonly extension: string;
  readonly command: ExtensionCommand;
}

const CLI_FILES = ['cli.ts', 'cli.js', 'cli.mjs'];

/** The extensions in these directories that add commands to the CLI, in the order they are searched. */
export function extensionClis(dirs: readonly string[]): ExtensionCli[] {
  const clis: ExtensionCli[] = [];
  for (const candidate of discoverExtensions(dirs).found.values()) {
    const file = CLI_FILES.map((name) => path.join(candidate.dir, name)).find((p) => fs.existsSync(p));
    if (file) clis.push({ extension: candidate.name, file });
  }
  return clis;
}

/** The well-formed commands a cli module exports; loads it. */
export async function commandsOf(cli: ExtensionCli): Promise<ExtensionCommand[]> {
  const module = (await loadExtensionModule(cli.file)) as { commands?: unknown };
  if (!Array.isArray(module.commands)) return [];
  return (module.commands as ExtensionCommand[]).filter((command) => typeof command?.name === 'string' && typeof command.run === 'function');
}

/**
 * The command called `name`. The extension of the same name is asked first, so `claude-ext cron ...`
 * loads only the cron extension's cli module; then the others in order, until one has it. A module that
 * fails to load is passed over, and its error thrown only when no other module has the command.
 */
export async function findExtensionCommand(clis: readonly ExtensionCli[], name: string): Promise<FoundCommand | undefined> {
  const namesake = clis.filter((cli) => cli.extension === name);
  let loadFailure: { error: unknown } | undefined;
  for (const cli of [...namesake, ...clis.filter((other) => other.extension !== name)]) {
    let commands: ExtensionCommand[];
    try {
      commands = await commandsOf(cli);
    } catch (error) {
      loadFailure ??= { error };
      continue;
    }
    const command = commands.find((candidate) => candidate.name === name);
    if (command) return { extension: cli.extension, command };
  }
  if (loadFailure) throw loadFailure.error;
  return undefined;
}

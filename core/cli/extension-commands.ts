import fs from 'node:fs';
import path from 'node:path';
import type { ExtensionCommand } from '../extension-host/extension-api.ts';
import { discoverExtensions } from '../extension-host/extension-loader.ts';
import { importExtensionModule } from '../extension-host/module-import.ts';

export interface FoundCommand {
  readonly extension: string;
  readonly command: ExtensionCommand;
}

const CLI_FILES = ['cli.ts', 'cli.js', 'cli.mjs'];

/** The commands that extensions in these directories add to the CLI (`<extension dir>/cli.ts`). */
export async function extensionCommands(dirs: readonly string[]): Promise<Map<string, FoundCommand>> {
  const found = new Map<string, FoundCommand>();
  for (const candidate of discoverExtensions(dirs).found.values()) {
    const file = CLI_FILES.map((name) => path.join(candidate.dir, name)).find((p) => fs.existsSync(p));
    if (!file) continue;
    const module = (await importExtensionModule(file)) as { commands?: unknown };
    if (!Array.isArray(module.commands)) continue;
    for (const command of module.commands as ExtensionCommand[]) {
      if (typeof command?.name === 'string' && typeof command.run === 'function' && !found.has(command.name)) {
        found.set(command.name, { extension: candidate.name, command });
      }
    }
  }
  return found;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_EXTENSIONS_DIR } from '../config/paths.ts';
import { expandHome } from '../util/files.ts';
import type { CliContext } from './cli-context.ts';

/** Where the daemon of a configuration keeps its state and looks for extensions. */
export interface DaemonPlaces {
  readonly stateDir: string;
  /** The project's own extensions first, then the configured directories. */
  readonly extensionsDirs: readonly string[];
}

/** `state_dir` when the configuration does not set it (as in core/config/config.ts). */
const DEFAULT_STATE_DIR = '~/.claude-ext';

/**
 * The places `start` would use with the same `--config`, cwd and environment. Without a config file
 * they follow from the environment alone, so the config module (and the schema library behind it,
 * slow to load) is loaded only when there is a file to read.
 */
export async function daemonPlaces(ctx: CliContext, configPath: string | undefined): Promise<DaemonPlaces> {
  if (!configFileApplies(ctx, configPath)) {
    const home = ctx.env.HOME ?? os.homedir();
    const stateDir = path.resolve(ctx.cwd, expandHome(ctx.env.CLAUDE_EXT_STATE_DIR || DEFAULT_STATE_DIR, home));
    return { stateDir, extensionsDirs: [BUILTIN_EXTENSIONS_DIR, path.join(stateDir, 'extensions')] };
  }
  const { loadConfig } = await import('../config/config.ts');
  const { config } = loadConfig({ ...(configPath ? { configPath } : {}), cwd: ctx.cwd, env: ctx.env });
  return { stateDir: config.state_dir, extensionsDirs: [BUILTIN_EXTENSIONS_DIR, ...config.extensions_dirs] };
}

/** As `resolveConfigPath` decides: `--config`, else ./config.yaml when it exists. */
function configFileApplies(ctx: CliContext, configPath: string | undefined): boolean {
  return Boolean(configPath) || fs.existsSync(path.join(ctx.cwd, 'config.yaml'));
}

import os from 'node:os';
import path from 'node:path';
import { expandHome } from '../util/files.ts';

/** `state_dir` when the configuration does not set it. */
export const DEFAULT_STATE_DIR = '~/.claude-ext';

/** Where the daemon of a configuration keeps its state and looks for extensions (beyond the project's). */
export interface DaemonLocation {
  readonly stateDir: string;
  readonly extensionsDirs: readonly string[];
}

/** The location without a config file: `CLAUDE_EXT_STATE_DIR`, else the default. */
export function locationWithoutFile(options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }): DaemonLocation {
  const home = options.env.HOME ?? os.homedir();
  const stateDir = path.resolve(options.cwd, expandHome(options.env.CLAUDE_EXT_STATE_DIR || DEFAULT_STATE_DIR, home));
  return { stateDir, extensionsDirs: [path.join(stateDir, 'extensions')] };
}

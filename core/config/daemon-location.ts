import os from 'node:os';
import path from 'node:path';
import { expandHome } from '../util/files.ts';
import { readConfigDocument, type LoadOptions } from './config-document.ts';
import { DEFAULT_STATE_DIR, type DaemonLocation } from './state-dir.ts';

/**
 * `state_dir` and `extensions_dirs` as `loadConfig` decides them, read without the schema (a client
 * only needs these two). Undefined when either has a value the schema would refuse: the caller then
 * loads the whole configuration for its error.
 */
export function readDaemonLocation(options: LoadOptions): DaemonLocation | undefined {
  const document = readConfigDocument(options);
  const { state_dir: stateValue, extensions_dirs: dirsValue } = document.raw;
  if (stateValue !== undefined && !isPath(stateValue)) return undefined;
  if (dirsValue !== undefined && !(Array.isArray(dirsValue) && dirsValue.every(isPath))) return undefined;
  const home = options.env.HOME ?? os.homedir();
  const absolute = (p: string): string => path.resolve(document.baseDir, expandHome(p, document.home));
  const override = options.env.CLAUDE_EXT_STATE_DIR;
  const stateDir = override ? path.resolve(options.cwd, expandHome(override, home)) : absolute((stateValue as string | undefined) ?? DEFAULT_STATE_DIR);
  const extensionsDirs = dirsValue === undefined ? [path.join(stateDir, 'extensions')] : (dirsValue as string[]).map(absolute);
  return { stateDir, extensionsDirs };
}

function isPath(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

import fs from 'node:fs';
import path from 'node:path';
import { BUILTIN_EXTENSIONS_DIR } from '../config/paths.ts';
import type { LoadOptions } from '../config/config-path.ts';
import { LocationCache } from '../config/location-cache.ts';
import { locationWithoutFile, type DaemonLocation } from '../config/state-dir.ts';
import type { CliContext } from './cli-context.ts';

/** Where the daemon of a configuration keeps its state and looks for extensions. */
export interface DaemonPlaces {
  readonly stateDir: string;
  /** The project's own extensions first, then the configured directories. */
  readonly extensionsDirs: readonly string[];
}

/**
 * The places `start` would use with the same `--config`, cwd and environment. Without a config file
 * they follow from the environment alone; a file's are remembered between runs, else read without the
 * config schema (slow to load), which is loaded only when `state_dir` or `extensions_dirs` is invalid.
 */
export async function daemonPlaces(ctx: CliContext, configPath: string | undefined): Promise<DaemonPlaces> {
  const options = { ...(configPath ? { configPath } : {}), cwd: ctx.cwd, env: ctx.env };
  const fileApplies = Boolean(configPath) || fs.existsSync(path.join(ctx.cwd, 'config.yaml'));
  const location = fileApplies ? await locationFromFile(options) : locationWithoutFile(options);
  if (location) return { stateDir: location.stateDir, extensionsDirs: [BUILTIN_EXTENSIONS_DIR, ...location.extensionsDirs] };
  const { loadConfig } = await import('../config/config.ts');
  const { config } = loadConfig(options);
  return { stateDir: config.state_dir, extensionsDirs: [BUILTIN_EXTENSIONS_DIR, ...config.extensions_dirs] };
}

/** A config file's location: remembered from an earlier run of the same file and environment, else read (YAML). */
async function locationFromFile(options: LoadOptions): Promise<DaemonLocation | undefined> {
  const cache = LocationCache.forEnvironment(options.env);
  const key = cache.keyOf(options);
  const remembered = key ? cache.get(key) : undefined;
  if (remembered) return remembered;
  const { readDaemonLocation } = await import('../config/daemon-location.ts');
  const location = readDaemonLocation(options);
  if (location && key) cache.set(key, location);
  return location;
}

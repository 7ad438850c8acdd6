import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir, writeJsonAtomic } from '../util/files.ts';
import { resolveConfigPath, type LoadOptions } from './config-path.ts';
import type { DaemonLocation } from './state-dir.ts';

/** Locations remembered, newest last; older ones are dropped. */
const MAX_ENTRIES = 32;

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Where the daemon of a configuration file lives, remembered between CLI runs so a command need not
 * load a YAML parser to find it. An entry is keyed by everything the answer depends on: the file's
 * and its `.env`'s contents, the variables the file refers to, `CLAUDE_EXT_STATE_DIR`, HOME and the
 * working directory. Any change is a miss, and a miss is read from the file as usual.
 */
export class LocationCache {
  constructor(private readonly file: string) {}

  /** `$XDG_CACHE_HOME/claude-ext/locations.json`, else `~/.cache/claude-ext/locations.json`. */
  static forEnvironment(env: NodeJS.ProcessEnv): LocationCache {
    const base = env.XDG_CACHE_HOME || path.join(env.HOME ?? os.homedir(), '.cache');
    return new LocationCache(path.join(base, 'claude-ext', 'locations.json'));
  }

  /** The key of a configuration as the options select it, or undefined when no file applies or it cannot be read. */
  keyOf(options: LoadOptions): string | undefined {
    const configFile = resolveConfigPath(options);
    if (!configFile) return undefined;
    const text = readText(configFile);
    if (text === undefined) return undefined;
    const dotEnv = readText(path.join(path.dirname(configFile), '.env')) ?? null;
    const names = [...new Set([...text.matchAll(VARIABLE)].map((match) => match[1] as string))].sort();
    const inputs = [configFile, text, dotEnv, names.map((name) => [name, options.env[name] ?? null]), options.env.CLAUDE_EXT_STATE_DIR ?? null, options.env.HOME ?? null, options.cwd];
    return fingerprint(JSON.stringify(inputs));
  }

  get(key: string): DaemonLocation | undefined {
    const found = this.entries().find((entry) => entry.key === key);
    return found ? { stateDir: found.stateDir, extensionsDirs: found.extensionsDirs } : undefined;
  }

  /** Remembers a location; a cache that cannot be written (a read-only home) is simply not kept. */
  set(key: string, location: DaemonLocation): void {
    const entries = this.entries().filter((entry) => entry.key !== key);
    entries.push({ key, stateDir: location.stateDir, extensionsDirs: [...location.extensionsDirs] });
    try {
      ensurePrivateDir(path.dirname(this.file));
      writeJsonAtomic(this.file, entries.slice(-MAX_ENTRIES));
    } catch {
      // only a cache
    }
  }

  private entries(): CacheEntry[] {
    const text = readText(this.file);
    if (text === undefined) return [];
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return [];
    }
  }
}

interface CacheEntry {
  readonly key: string;
  readonly stateDir: string;
  readonly extensionsDirs: string[];
}

function isEntry(value: unknown): value is CacheEntry {
  const entry = value as Partial<CacheEntry> | null;
  return typeof entry?.key === 'string' && typeof entry.stateDir === 'string' && Array.isArray(entry.extensionsDirs) && entry.extensionsDirs.every((dir) => typeof dir === 'string');
}

/**
 * A 64-bit FNV-1a digest of the key's inputs. Not a secure hash, and it needs none: whoever can change
 * these inputs can change the answer anyway. The inputs themselves (the file may hold secrets) never
 * reach the cache, and the CLI does not pay for loading a crypto module.
 */
function fingerprint(text: string): string {
  let low = 0x811c9dc5;
  let high = 0xcbf29ce4;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    low = Math.imul(low ^ code, 0x01000193) >>> 0;
    high = Math.imul(high ^ code ^ (low >>> 16), 0x01000193) >>> 0;
  }
  return `${high.toString(16).padStart(8, '0')}${low.toString(16).padStart(8, '0')}-${text.length}`;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

import fs from 'node:fs';
import path from 'node:path';
import type { Extension, ExtensionModule } from './extension-api.ts';
import { importExtensionModule } from './module-import.ts';

/** An extension directory found on disk. */
export interface ExtensionCandidate {
  readonly name: string;
  readonly dir: string;
  readonly entry: string;
  /** Changes when any code file in the directory changes, so a reload picks up new code. */
  readonly version: string;
}

const ENTRY_FILES = ['extension.ts', 'extension.js', 'extension.mjs'];

/** Finds `<dir>/<name>/extension.{ts,js,mjs}` in each directory; the first directory wins a name. */
export function discoverExtensions(dirs: readonly string[]): { found: Map<string, ExtensionCandidate>; warnings: string[] } {
  const found = new Map<string, ExtensionCandidate>();
  const warnings: string[] = [];
  for (const root of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(root).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = path.join(root, name);
      const entryName = ENTRY_FILES.find((file) => fs.existsSync(path.join(dir, file)));
      if (!entryName) continue;
      const entry = path.join(dir, entryName);
      const earlier = found.get(name);
      if (earlier) {
        warnings.push(`extension ${name} in ${dir} is shadowed by ${earlier.dir}`);
        continue;
      }
      found.set(name, candidate(name, dir, entry));
    }
  }
  return { found, warnings };
}

/** A found extension; its version is read from the disk only when asked for (the CLI never asks). */
function candidate(name: string, dir: string, entry: string): ExtensionCandidate {
  let version: string | undefined;
  return {
    name,
    dir,
    entry,
    get version() {
      version ??= String(Math.round(newestChange(dir) * 1000));
      return version;
    },
  };
}

/** The newest modification time of the code in an extension's directory. */
function newestChange(dir: string, depth = 0): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth < 4) newest = Math.max(newest, newestChange(full, depth + 1));
    else if (entry.isFile() && /\.(ts|mts|js|mjs)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Imports an extension module and checks its shape; names the file in every error. */
export async function importExtension(candidate: ExtensionCandidate): Promise<() => Extension> {
  let module: { default?: unknown };
  try {
    module = (await importExtensionModule(candidate.entry, { id: candidate.version, dir: candidate.dir })) as { default?: unknown };
  } catch (error) {
    throw new Error(`cannot load ${candidate.entry}: ${(error as Error).message}`);
  }
  const exported = module.default as ExtensionModule | undefined;
  if (exported === undefined) throw new Error(`${candidate.entry} has no default export (export default the extension)`);
  const make = (): Extension => {
    const extension = typeof exported === 'function' ? exported() : exported;
    checkShape(extension, candidate);
    return extension;
  };
  make();
  return make;
}

function checkShape(value: unknown, candidate: ExtensionCandidate): asserts value is Extension {
  const extension = value as Partial<Extension> | null;
  if (!extension || typeof extension !== 'object') throw new Error(`${candidate.entry}: the default export is not an extension object`);
  if (extension.name !== candidate.name) throw new Error(`${candidate.entry}: name is ${JSON.stringify(extension.name)}, it must be the directory's name "${candidate.name}"`);
  if (typeof extension.start !== 'function') throw new Error(`${candidate.entry}: start(ctx) is missing`);
  for (const key of ['dependencies', 'softDependencies'] as const) {
    const list = extension[key];
    if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string'))) throw new Error(`${candidate.entry}: ${key} must be a list of extension names`);
  }
}

/**
 * Orders extensions so each starts after its dependencies (and after soft dependencies that are
 * present). Throws naming the cycle when there is one.
 */
export function startOrder(extensions: ReadonlyMap<string, Pick<Extension, 'dependencies' | 'softDependencies'>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      throw new Error(`extension dependency cycle: ${cycle.join(' -> ')}`);
    }
    state.set(name, 'visiting');
    const extension = extensions.get(name);
    for (const dependency of [...(extension?.dependencies ?? []), ...(extension?.softDependencies ?? [])]) {
      if (extensions.has(dependency)) visit(dependency, [...trail, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of [...extensions.keys()].sort()) visit(name, []);
  return order;
}

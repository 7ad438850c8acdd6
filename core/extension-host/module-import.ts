import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../config/paths.ts';

/** What Node needs registered before it can load one of an extension's files. */
export interface ModuleHooks {
  /** The file is TypeScript: tsx compiles it (together with the resolve fallback, as the preload does). */
  readonly typeScript: boolean;
  /** The file may live without a node_modules: bare imports fall back to the package's (bin/resolve-fallback.mjs). */
  readonly resolveFallback: boolean;
}

/** A version of an extension's code: the file and what it imports from `dir` load anew for each `id`. */
export interface ModuleVersion {
  readonly id: string;
  readonly dir: string;
}

const HOOKS_REGISTRY = pathToFileURL(path.join(PACKAGE_ROOT, 'bin/module-hooks.mjs')).href;
const PRELOADS = {
  typeScript: pathToFileURL(path.join(PACKAGE_ROOT, 'bin/register-hooks.mjs')).href,
  resolveFallback: pathToFileURL(path.join(PACKAGE_ROOT, 'bin/register-resolve-fallback.mjs')).href,
};
/** Running from the sources, this very file was compiled by a TypeScript loader that is already in place. */
const TYPESCRIPT_LOADED = /\.ts$/.test(new URL(import.meta.url).pathname);

interface HooksRegistry {
  registerTypeScript(): Promise<void>;
  registerResolveFallback(): void;
}

export function hooksFor(file: string): ModuleHooks {
  const typeScript = /\.[cm]?ts$/i.test(file);
  return { typeScript, resolveFallback: typeScript || !isInside(PACKAGE_ROOT, file) };
}

/** The `node` arguments that let a new process run `file` (an MCP server's script): none for the package's own JavaScript. */
export function preloadArguments(file: string): string[] {
  const hooks = hooksFor(file);
  if (hooks.typeScript) return ['--import', PRELOADS.typeScript];
  if (hooks.resolveFallback) return ['--import', PRELOADS.resolveFallback];
  return [];
}

/**
 * Imports an extension's file (its entry, its CLI commands), first registering the hooks it needs,
 * so TypeScript support is paid for only by a process that loads TypeScript.
 */
export async function importExtensionModule(file: string, version?: ModuleVersion): Promise<unknown> {
  await registerHooksFor(file, version !== undefined);
  const url = pathToFileURL(file).href;
  // The version names the directory too: files the extension imports from it load in the same version.
  return import(version ? `${url}?extv=${version.id}.${encodeURIComponent(pathToFileURL(version.dir).href)}` : url);
}

/** `versioned`: the file's own imports must load in its version, which the resolve fallback sees to. */
async function registerHooksFor(file: string, versioned: boolean): Promise<void> {
  const hooks = hooksFor(file);
  const typeScript = hooks.typeScript && !TYPESCRIPT_LOADED;
  const resolveFallback = hooks.resolveFallback || versioned;
  if (!typeScript && !resolveFallback) return;
  const registry = (await import(HOOKS_REGISTRY)) as HooksRegistry;
  if (typeScript) await registry.registerTypeScript();
  if (resolveFallback) registry.registerResolveFallback();
}

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, path.resolve(file));
  return relative !== '' && relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative);
}

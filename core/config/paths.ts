import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The package's root (where package.json is), whether the code runs from the sources or from `dist/`. */
export const PACKAGE_ROOT = findPackageRoot(HERE);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(HERE, '../..');
  }
}

/** Where the daemon keeps its own files inside the state dir. */
export function daemonPaths(stateDir: string) {
  return {
    socket: path.join(stateDir, 'daemon.sock'),
    tmuxSocket: path.join(stateDir, 'tmux.sock'),
    log: path.join(stateDir, 'daemon.log'),
    events: path.join(stateDir, 'events.jsonl'),
    pid: path.join(stateDir, 'daemon.pid'),
    /** The port of the daemon's MCP endpoint, re-used at the next start when free. */
    mcpPort: path.join(stateDir, 'mcp.port'),
    sessions: path.join(stateDir, 'sessions'),
  } as const;
}

/**
 * The project's own extensions directory, searched before `extensions_dirs`: the built extensions when
 * the running code is the build in dist/ (the CLI's bundle included), else the sources.
 */
export const BUILTIN_EXTENSIONS_DIR = isInside(path.join(PACKAGE_ROOT, 'dist'), HERE) ? path.join(PACKAGE_ROOT, 'dist', 'extensions') : path.join(PACKAGE_ROOT, 'extensions');

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

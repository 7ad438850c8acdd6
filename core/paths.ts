import { fileURLToPath } from 'node:url';
import path from 'node:path';

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

/** The project's own extensions directory, searched before `extensions_dirs`. */
export const BUILTIN_EXTENSIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'extensions');

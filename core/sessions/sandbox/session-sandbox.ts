import fs from 'node:fs';
import path from 'node:path';
import { bwrapArguments, mountPlan } from './mount-plan.ts';
import { ensurePrivateDir } from '../../util/files.ts';

export type SandboxMode = 'bwrap' | 'none';

/** The session a sandboxed command runs for. */
export interface SandboxSubject {
  readonly id: string;
  readonly user: string;
  readonly cwd: string;
  readonly template?: string;
}

/** How to run a program for a session: what goes in front of its argument vector, and environment changes (null removes). */
export interface SandboxLaunch {
  readonly prefix: readonly string[];
  readonly env: Readonly<Record<string, string | null>>;
}

export interface SessionSandbox {
  readonly mode: SandboxMode;
  prepare(session: SandboxSubject): SandboxLaunch;
}

/** Sessions run as the daemon's user, seeing what it sees. */
export const NO_SANDBOX: SessionSandbox = { mode: 'none', prepare: () => ({ prefix: [], env: {} }) };

export interface SandboxPathSettings {
  readonly readable: readonly string[];
  readonly writable: readonly string[];
  readonly hidden: readonly string[];
}

export interface BwrapSandboxOptions {
  readonly bwrapPath: string;
  readonly stateDir: string;
  /** The daemon user's HOME and the CLI's configuration directory in it (or CLAUDE_CONFIG_DIR). */
  readonly daemonHome: string;
  readonly claudeConfigDir: string;
  /** What sessions' processes run from: node, the package, the claude binary, extension directories, PATH. */
  readonly runtime: () => readonly string[];
  readonly settings: () => SandboxPathSettings;
  readonly templatePaths: (template: string) => Partial<SandboxPathSettings> | undefined;
  /** The daemon's config file and `.env`, and what extensions hide (files or directories). */
  readonly secretFiles: () => readonly string[];
  /** Directories of users other than `user`: their sessions' working directories and their roots. */
  readonly otherUsersDirs: (user: string) => readonly string[];
  /** Files of the session in the state dir its process reads (its MCP config) and the bridge socket. */
  readonly exposedFiles: (sessionId: string) => readonly string[];
}

/** Where a user's own HOME and temporary directory are kept. */
export function userDirs(stateDir: string, user: string): { home: string; tmp: string } {
  const base = path.join(stateDir, 'users', user);
  return { home: path.join(base, 'home'), tmp: path.join(base, 'tmp') };
}

/**
 * Runs each session's process in bubblewrap: its own mount, PID and IPC namespaces, the state dir and
 * the daemon's HOME absent, other users' directories hidden, the working directory read-write and the
 * rest of the file system read-only. The network stays: the CLI needs the API.
 */
export class BwrapSandbox implements SessionSandbox {
  readonly mode = 'bwrap';

  constructor(private readonly options: BwrapSandboxOptions) {}

  prepare(session: SandboxSubject): SandboxLaunch {
    const { options } = this;
    const dirs = userDirs(options.stateDir, session.user);
    ensurePrivateDir(dirs.home);
    ensurePrivateDir(dirs.tmp);
    const settings = options.settings();
    const fromTemplate = session.template ? options.templatePaths(session.template) : undefined;
    const secrets = options.secretFiles().filter(exists);
    const secretDirs = secrets.filter(isDirectory);
    const steps = mountPlan({
      stateDir: options.stateDir,
      daemonHome: options.daemonHome,
      cwd: session.cwd,
      userHome: dirs.home,
      userTmp: dirs.tmp,
      ...this.credentials(dirs.home),
      runtime: options.runtime().filter(exists),
      readable: [...settings.readable, ...(fromTemplate?.readable ?? [])].filter(exists),
      writable: [...settings.writable, ...(fromTemplate?.writable ?? [])].filter(exists),
      hidden: [...settings.hidden, ...(fromTemplate?.hidden ?? []), ...secretDirs].filter(exists),
      secretFiles: secrets.filter((p) => !secretDirs.includes(p)),
      otherUsers: options.otherUsersDirs(session.user).filter(exists),
      exposedFiles: options.exposedFiles(session.id).filter(exists),
    });
    return {
      prefix: [options.bwrapPath, ...bwrapArguments(steps, session.cwd)],
      env: { HOME: dirs.home, TMPDIR: '/tmp', CLAUDE_CONFIG_DIR: null, XDG_CONFIG_HOME: null, XDG_CACHE_HOME: null, XDG_DATA_HOME: null },
    };
  }

  /** The daemon user's CLI login, bound into the user's HOME so a login or a token refresh is shared. */
  private credentials(home: string): { credentials?: { source: string; target: string } } {
    const source = path.join(this.options.claudeConfigDir, '.credentials.json');
    if (!exists(source)) return {};
    const target = path.join(home, '.claude', '.credentials.json');
    ensurePrivateDir(path.dirname(target));
    if (!exists(target)) fs.writeFileSync(target, '', { mode: 0o600 });
    return { credentials: { source, target } };
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  return fs.existsSync(p);
}

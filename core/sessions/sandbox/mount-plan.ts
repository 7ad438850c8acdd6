import path from 'node:path';

/**
 * What a session's sandbox shows of the file system. Steps apply in order and a later step wins on
 * the same path, so the plan hides broad areas first and then brings back exactly what the session
 * needs inside them.
 */
export type MountStep =
  | { readonly kind: 'hide'; readonly path: string }
  | { readonly kind: 'hide-file'; readonly path: string }
  | { readonly kind: 'read-only' | 'read-write'; readonly path: string; readonly target?: string };

export interface SandboxPaths {
  /** The daemon's state directory: never visible, whatever else is. */
  readonly stateDir: string;
  /** The daemon user's home: hidden; the session gets its user's home instead. */
  readonly daemonHome: string;
  readonly cwd: string;
  /** The session user's HOME, read-write. */
  readonly userHome: string;
  /** Mounted at /tmp, read-write: the user's own temporary directory. */
  readonly userTmp: string;
  /** The CLI's login of the daemon's user, bound read-write into the user's HOME. */
  readonly credentials?: { readonly source: string; readonly target: string };
  /** What the CLI and the session's MCP servers run from: node, the package, extension directories. */
  readonly runtime: readonly string[];
  readonly readable: readonly string[];
  readonly writable: readonly string[];
  /** Further paths to hide (configured). */
  readonly hidden: readonly string[];
  /** Files of the daemon's that hold secrets (its config file, `.env`): emptied. */
  readonly secretFiles: readonly string[];
  /** Working directories and roots of other users. */
  readonly otherUsers: readonly string[];
  /** Files in the hidden state dir the session's process must reach (its MCP config, the bridge socket). */
  readonly exposedFiles: readonly string[];
}

export function mountPlan(input: SandboxPaths): MountStep[] {
  const cwd = path.resolve(input.cwd);
  // Another user working in this very directory cannot be hidden from it; leaving it out keeps the
  // plan (and so the session's process) the same when such a session comes or goes.
  const paths = { ...input, otherUsers: input.otherUsers.filter((dir) => path.resolve(dir) !== cwd) };
  const containsCwd = (dir: string): boolean => isWithin(cwd, dir);
  const earlyHides = [paths.daemonHome, '/tmp', ...paths.otherUsers.filter(containsCwd)];
  const requested: MountStep[] = [
    ...unique(paths.runtime).map((p) => ({ kind: 'read-only' as const, path: p })),
    ...unique(paths.readable).map((p) => ({ kind: 'read-only' as const, path: p })),
    ...unique(paths.writable).map((p) => ({ kind: 'read-write' as const, path: p })),
  ];
  // Read-only paths are visible anyway unless something hides them; writable ones always need a bind,
  // the root being read-only.
  const allHides = [...earlyHides, paths.stateDir, ...paths.hidden, ...paths.otherUsers];
  const needsBind = (step: MountStep): boolean => step.kind === 'read-write' || allHides.some((hidden) => isWithin(step.path, hidden));
  const shown: MountStep[] = [...requested.filter(needsBind), { kind: 'read-write', path: cwd }];
  // A path under an early hide is gone already, unless a shown path brought it back.
  const visible = (p: string): boolean => !earlyHides.some((hidden) => isWithin(p, hidden)) || shown.some((step) => isWithin(p, step.path));
  const lateHides = unique([paths.stateDir, ...paths.hidden, ...paths.otherUsers.filter((dir) => !containsCwd(dir))]).filter(visible);
  return [
    { kind: 'hide', path: paths.daemonHome },
    { kind: 'read-write', path: paths.userTmp, target: '/tmp' },
    // Another user's directory that holds this session's own can only be hidden before it is bound.
    ...unique(paths.otherUsers.filter(containsCwd)).map((p) => ({ kind: 'hide' as const, path: p })),
    ...shown,
    ...lateHides.map((p) => ({ kind: 'hide' as const, path: p })),
    ...unique(paths.secretFiles).filter(visible).map((p) => ({ kind: 'hide-file' as const, path: p })),
    // What the late hides covered that the configuration or the runtime asked for comes back.
    ...shown.filter((step) => step.path !== cwd && lateHides.some((hidden) => isWithin(step.path, hidden) && step.path !== hidden)),
    { kind: 'read-write', path: paths.userHome },
    ...(paths.credentials ? [{ kind: 'read-write' as const, path: paths.credentials.source, target: paths.credentials.target }] : []),
    ...unique(paths.exposedFiles).map((p) => ({ kind: 'read-only' as const, path: p })),
  ];
}

/** The bubblewrap arguments for a plan, up to and including `--`. */
export function bwrapArguments(steps: readonly MountStep[], cwd: string): string[] {
  const args = [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--unshare-pid', '--unshare-ipc',
    '--die-with-parent', '--new-session',
  ];
  for (const step of steps) {
    switch (step.kind) {
      case 'hide':
        args.push('--tmpfs', step.path);
        break;
      case 'hide-file':
        args.push('--ro-bind', '/dev/null', step.path);
        break;
      case 'read-only':
        args.push('--ro-bind', step.path, step.target ?? step.path);
        break;
      case 'read-write':
        args.push('--bind', step.path, step.target ?? step.path);
        break;
    }
  }
  args.push('--chdir', cwd, '--');
  return args;
}

/** True when `p` is `dir` or inside it. */
export function isWithin(p: string, dir: string): boolean {
  const relative = path.relative(dir, p);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list.map((p) => path.resolve(p)))];
}

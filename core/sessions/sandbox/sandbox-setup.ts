import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_INSTALL_HINT, probeBwrap } from './bwrap-probe.ts';
import { BwrapSandbox, NO_SANDBOX, type BwrapSandboxOptions, type SandboxMode, type SessionSandbox } from './session-sandbox.ts';

export interface SandboxChoice {
  readonly sandbox: SessionSandbox;
  /** Said at start (and by status and doctor) when sessions are not isolated. */
  readonly warning?: string;
}

export type SandboxSetup = Omit<BwrapSandboxOptions, 'bwrapPath' | 'runtime'> & {
  /** `sandbox.mode`; null lets the machine decide. */
  readonly mode: SandboxMode | null;
  readonly searchPath: string | undefined;
  readonly packageRoot: string;
  readonly claudePath: string;
  readonly extensionDirs: () => readonly string[];
};

export class SandboxUnavailableError extends Error {
  constructor(reason: string) {
    super(`sandbox.mode is bwrap but ${reason}: ${BWRAP_INSTALL_HINT}, or set sandbox.mode: none (sessions are then not isolated)`);
    this.name = 'SandboxUnavailableError';
  }
}

/**
 * bubblewrap when configured or, with no mode configured, when it works here; otherwise no sandbox and
 * a warning. A configured `bwrap` that cannot work is an error: the daemon must not run unconfined by surprise.
 */
export async function chooseSandbox(setup: SandboxSetup): Promise<SandboxChoice> {
  if (setup.mode === 'none') return { sandbox: NO_SANDBOX, warning: 'sandbox.mode is none: sessions are not isolated (they can read the state dir, the vault and other users\' files)' };
  const probe = await probeBwrap(setup.searchPath);
  if (!probe.ok) {
    if (setup.mode === 'bwrap') throw new SandboxUnavailableError(probe.reason);
    return { sandbox: NO_SANDBOX, warning: `sessions are not isolated: ${probe.reason}; ${BWRAP_INSTALL_HINT}` };
  }
  const { mode: _mode, searchPath, packageRoot, claudePath, extensionDirs, ...options } = setup;
  return {
    sandbox: new BwrapSandbox({
      ...options,
      bwrapPath: probe.path,
      runtime: () => [...runtimePaths(packageRoot, claudePath, searchPath), ...extensionDirs()],
    }),
  };
}

/** What sessions' processes run from: node, this package, the claude binary, and the PATH's directories. */
function runtimePaths(packageRoot: string, claudePath: string, searchPath: string | undefined): string[] {
  const node = path.dirname(path.dirname(process.execPath));
  const claude = [path.dirname(claudePath), path.dirname(realPath(claudePath))];
  const onPath = (searchPath ?? '').split(':').filter((dir) => path.isAbsolute(dir));
  return [node, packageRoot, ...claude, ...onPath];
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

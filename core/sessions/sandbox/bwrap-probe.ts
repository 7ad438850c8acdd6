import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

/** The `bwrap` executable on PATH, if any. */
export function findBwrap(searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, 'bwrap');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type BwrapProbe = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Whether bubblewrap can make a sandbox here: installed, and allowed to create the namespaces (some
 * containers forbid them).
 */
export async function probeBwrap(searchPath: string | undefined): Promise<BwrapProbe> {
  const bwrap = findBwrap(searchPath);
  if (!bwrap) return { ok: false, reason: 'bubblewrap (bwrap) is not installed' };
  const result = await execa(bwrap, ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--die-with-parent', '--', 'true'], {
    reject: false,
    timeout: 10_000,
    stdin: 'ignore',
    env: { PATH: searchPath ?? '/usr/bin:/bin' },
    extendEnv: false,
  });
  if (result.exitCode === 0) return { ok: true, path: bwrap };
  return { ok: false, reason: `${bwrap} cannot create a sandbox here: ${String(result.stderr).trim() || `exit ${result.exitCode}`}` };
}

export const BWRAP_INSTALL_HINT = 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)';

import fs from 'node:fs';
import path from 'node:path';

/** The admin credential the CLI presents, kept 0600 in the state dir. */
export function adminTokenPath(stateDir: string): string {
  return path.join(stateDir, 'admin.token');
}

/** Reads the admin credential for a client; says clearly why when it cannot. */
export function readAdminToken(stateDir: string): string {
  const file = adminTokenPath(stateDir);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new Error(`cannot read the admin credential ${file}: run claude-ext as the user the daemon runs as`);
    throw new Error(`no admin credential at ${file}: is the daemon running with this state dir?`);
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { isWithin } from './sandbox/mount-plan.ts';
import { InvalidRequestError } from '../util/errors.ts';

/** `sessions.roots`: per user (and `default` for the rest), the directories sessions may work in. */
export type WorkingRoots = Readonly<Record<string, readonly string[]>>;

export const DEFAULT_ROOTS_KEY = 'default';

export function rootsOf(roots: WorkingRoots, user: string): readonly string[] {
  return roots[user] ?? roots[DEFAULT_ROOTS_KEY] ?? [];
}

/**
 * Refuses a working directory outside the user's roots (symbolic links followed, so a link cannot lead
 * out) or inside the daemon's state dir.
 */
export function assertWorkingDirAllowed(roots: WorkingRoots, user: string, cwd: string, stateDir: string): void {
  const real = realPath(cwd);
  if (isWithin(real, realPath(stateDir))) {
    throw new InvalidRequestError(`working directory ${cwd} is inside the daemon's state dir ${stateDir}: choose another directory`);
  }
  const allowed = rootsOf(roots, user);
  if (allowed.some((root) => isWithin(real, realPath(root)))) return;
  const key = roots[user] ? `sessions.roots.${user}` : `sessions.roots.${DEFAULT_ROOTS_KEY}`;
  const list = allowed.length > 0 ? allowed.join(', ') : '(none)';
  throw new InvalidRequestError(`working directory ${cwd} is outside the directories user "${user}" may work in: ${list} (${key} in config.yaml)`);
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

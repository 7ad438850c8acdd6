import fs from 'node:fs';
import path from 'node:path';

/** Whose a note is: one user's, or shared by every user. */
export type NoteScope = { readonly kind: 'user'; readonly user: string } | { readonly kind: 'shared' };

/** A note's place: its scope and its path inside that scope's folder (`projects/acme.md`). */
export interface NoteRef {
  readonly scope: NoteScope;
  readonly path: string;
}

/** The prefix that names the shared folder in a path a user gives. */
export const SHARED_PREFIX = 'shared/';

export class NotePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotePathError';
  }
}

const MAX_PATH_LENGTH = 512;
const SEGMENT = /^[\p{L}\p{N}][\p{L}\p{N} ._@+-]*$/u;

/**
 * A path as a user gives it (`notes/x.md`, or `shared/x.md` for the shared folder) made into a
 * reference: relative, normalised, `.md`, every segment a plain name. `folder` allows a path without
 * `.md` (a folder to list) and the empty path (the whole scope).
 */
export function parseNotePath(given: string, user: string, options: { folder?: boolean } = {}): NoteRef {
  const raw = given.trim().replace(/\\/g, '/');
  if (raw.length > MAX_PATH_LENGTH) throw new NotePathError(`path: at most ${MAX_PATH_LENGTH} characters`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw new NotePathError(`path "${given}": must be relative to your memory, e.g. projects/acme.md`);
  const segments = raw.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw new NotePathError(`path "${given}": ".." is not allowed`);
  const shared = segments[0] === 'shared';
  const inside = shared ? segments.slice(1) : segments;
  for (const segment of inside) {
    if (!SEGMENT.test(segment)) throw new NotePathError(`path "${given}": "${segment}" is not a plain name (letters, digits, space . _ @ + -; not starting with a dot)`);
  }
  const joined = inside.join('/');
  if (!options.folder || joined.endsWith('.md')) {
    if (!joined.endsWith('.md') || joined === '.md') throw new NotePathError(`path "${given}": a note is a .md file`);
  }
  return { scope: shared ? { kind: 'shared' } : { kind: 'user', user }, path: joined };
}

/** How a user names the note again: shared notes with the `shared/` prefix. */
export function displayPath(ref: NoteRef): string {
  return ref.scope.kind === 'shared' ? `${SHARED_PREFIX}${ref.path}` : ref.path;
}

/** The folder of a scope under the memory root: `users/<user>` or `shared`. */
export function scopeDir(root: string, scope: NoteScope): string {
  return scope.kind === 'shared' ? path.join(root, 'shared') : path.join(root, 'users', userFolderName(scope.user));
}

/** A user id as a folder name: readable when it is plain, encoded otherwise (ids may hold any character). */
export function userFolderName(user: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$/.test(user) && !user.includes('..') ? user : `~${Buffer.from(user).toString('base64url')}`;
}

/** The user a folder under `users/` belongs to. */
export function userOfFolder(name: string): string {
  return name.startsWith('~') ? Buffer.from(name.slice(1), 'base64url').toString() : name;
}

/**
 * The file of a note, after checking that nothing on its way is a symbolic link leading out of its
 * scope's folder (a hand-made link inside the folder is followed only while it stays inside).
 */
export function resolveNoteFile(root: string, ref: NoteRef): string {
  const dir = scopeDir(root, ref.scope);
  const file = path.join(dir, ref.path);
  const realDir = realOrSelf(dir);
  let existing = file;
  while (!fs.existsSync(existing) && existing !== dir && existing.startsWith(dir)) existing = path.dirname(existing);
  const real = realOrSelf(existing);
  if (real !== realDir && !real.startsWith(realDir + path.sep)) throw new NotePathError(`path "${displayPath(ref)}": leads out of the memory folder through a symbolic link`);
  return file;
}

function realOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

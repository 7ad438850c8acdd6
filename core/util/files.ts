import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Creates a directory (and its parents) readable only by its owner. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * What keeps an existing directory from being private to the user this process runs as (another
 * owner, access for group or others), each with the command that fixes it; empty when it is private.
 */
export function privateDirProblems(dir: string): string[] {
  const stat = fs.statSync(dir);
  const problems: string[] = [];
  const uid = process.geteuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    const user = userName(uid);
    problems.push(`it belongs to uid ${stat.uid}, not to ${user} who runs the daemon: \`chown ${user} ${dir}\` (as root), or use a state dir of your own`);
  }
  const mode = stat.mode & 0o777;
  if (mode & 0o077) problems.push(`it is mode ${mode.toString(8).padStart(3, '0')}, open to other users: \`chmod 700 ${dir}\``);
  return problems;
}

function userName(uid: number): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(uid);
  }
}

let tempCounter = 0;

/**
 * Replaces a file's content atomically: a reader sees the old or the new content, never a mix. The
 * file is created 0600. With `durable`, the data reaches the disk before the rename.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, options: { durable?: boolean } = {}): void {
  const temp = `${file}.tmp-${process.pid}-${++tempCounter}`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, data);
    if (options.durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

export function writeJsonAtomic(file: string, value: unknown, options: { durable?: boolean } = {}): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, options);
}

export function readJsonFile<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
}

/** Appends data to a file created 0600, in one write. */
export function appendPrivate(file: string, data: string): void {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** The last `maxBytes` of a file as text (for error reports), or '' when it does not exist. */
export function readTail(file: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

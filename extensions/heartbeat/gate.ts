import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/**
 * The heartbeat's gate: cheap, deterministic checks that say whether anything may need attention,
 * without a model call. Three sources: files changed under watched paths, a command that exits 0, and
 * items other extensions report as pending.
 */

export type FindingSource = 'files' | 'command' | 'pending';

export interface Finding {
  source: FindingSource;
  summary: string;
  details?: string[];
}

/**
 * What a watch saw: one entry per path, `dir` for a directory and `kind:size:mtimeMs` for anything
 * else. Plain JSON, so the caller can keep it between ticks and across restarts.
 */
export interface Snapshot {
  version: 1;
  /** The watched paths, absolute, sorted and without nested duplicates. */
  roots: string[];
  entries: Record<string, string>;
  /** False when the walk stopped at the entry limit. */
  complete: boolean;
  /** The last path the walk visited (in walk order) when it stopped at the limit. */
  last?: string;
}

export interface FileWatchOptions {
  /** Entries (files, directories, links) visited at most per check. */
  maxEntries?: number;
  /** Names skipped wherever they appear. */
  ignore?: readonly string[];
  /** Changed paths listed at most; `total` still counts them all. */
  maxChanged?: number;
}

export interface FileCheck {
  /** Paths added, modified or removed since the previous snapshot, in walk order, at most `maxChanged`. */
  changed: string[];
  /** How many paths changed in all. */
  total: number;
  snapshot: Snapshot;
}

export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_IGNORE: readonly string[] = ['.git', 'node_modules'];
export const DEFAULT_MAX_CHANGED = 50;

/**
 * Watches files and directories (recursively) by comparing snapshots of their metadata. The first
 * check, or a check against a snapshot of other paths, is a baseline and reports nothing.
 */
export class FileWatchGate {
  readonly roots: string[];
  private readonly maxEntries: number;
  private readonly ignore: ReadonlySet<string>;
  private readonly maxChanged: number;

  constructor(paths: readonly string[], options: FileWatchOptions = {}) {
    this.roots = normalizeRoots(paths);
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.ignore = new Set(options.ignore ?? DEFAULT_IGNORE);
    this.maxChanged = options.maxChanged ?? DEFAULT_MAX_CHANGED;
  }

  async check(previous: Snapshot | undefined): Promise<FileCheck> {
    const snapshot = await this.take();
    if (!previous || !sameRoots(previous.roots, snapshot.roots)) return { changed: [], total: 0, snapshot };
    const changed = diffSnapshots(previous, snapshot);
    return { changed: changed.slice(0, this.maxChanged), total: changed.length, snapshot };
  }

  private async take(): Promise<Snapshot> {
    const entries: Record<string, string> = {};
    let visited = 0;
    let last: string | undefined;
    const visit = async (file: string): Promise<boolean> => {
      if (visited >= this.maxEntries) return false;
      let stat: Awaited<ReturnType<typeof fs.lstat>>;
      try {
        stat = await fs.lstat(file);
      } catch {
        return true;
      }
      visited++;
      last = file;
      if (!stat.isDirectory()) {
        entries[file] = `${kindOf(stat)}:${stat.size}:${stat.mtimeMs}`;
        return true;
      }
      entries[file] = 'dir';
      let names: string[];
      try {
        names = await fs.readdir(file);
      } catch {
        return true;
      }
      for (const name of names.sort(compareNames)) {
        if (this.ignore.has(name)) continue;
        if (!(await visit(path.join(file, name)))) return false;
      }
      return true;
    };
    let complete = true;
    for (const root of this.roots) {
      if (!(await visit(root))) {
        complete = false;
        break;
      }
    }
    return complete ? { version: 1, roots: this.roots, entries, complete } : { version: 1, roots: this.roots, entries, complete, last };
  }
}

/**
 * The paths that differ between two snapshots, in walk order. When a walk stopped at its limit, only
 * paths up to where it stopped are compared: beyond that, absence says nothing.
 */
export function diffSnapshots(previous: Snapshot, next: Snapshot): string[] {
  const horizons = [previous, next].filter((s) => !s.complete && s.last !== undefined).map((s) => s.last as string);
  const horizon = horizons.sort(compareWalkOrder)[0];
  const within = (file: string): boolean => horizon === undefined || compareWalkOrder(file, horizon) <= 0;
  const changed: string[] = [];
  for (const [file, signature] of Object.entries(next.entries)) {
    if (previous.entries[file] !== signature && within(file)) changed.push(file);
  }
  for (const file of Object.keys(previous.entries)) {
    if (!(file in next.entries) && within(file)) changed.push(file);
  }
  return changed.sort(compareWalkOrder);
}

/** The order of a depth-first walk that visits names sorted: segment by segment, a parent before its children. */
export function compareWalkOrder(a: string, b: string): number {
  const x = a.split(path.sep);
  const y = b.split(path.sep);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const order = compareNames(x[i] as string, y[i] as string);
    if (order !== 0) return order;
  }
  return x.length - y.length;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function normalizeRoots(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths.map((p) => path.resolve(p)))].sort(compareWalkOrder);
  return sorted.filter((root, i) => !sorted.slice(0, i).some((outer) => root.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep)));
}

function sameRoots(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((root, i) => root === b[i]);
}

function kindOf(stat: { isFile(): boolean; isSymbolicLink(): boolean }): string {
  if (stat.isFile()) return 'f';
  if (stat.isSymbolicLink()) return 'l';
  return 'o';
}

export interface CommandGateOptions {
  /** Characters of stdout kept at most. */
  maxOutputChars?: number;
}

const DEFAULT_MAX_OUTPUT_CHARS = 4_000;
const MAX_OUTPUT_LINES = 40;
const MAX_SUMMARY_CHARS = 200;
/** Bytes read from the command at most; more is reported as an error. */
const MAX_BUFFER_BYTES = 1024 * 1024;

/**
 * Runs `sh -c command` in `cwd`. Exit code 0 means "needs attention": the finding carries the trimmed
 * stdout (its first line as the summary, the rest as details). Any other exit code means nothing to
 * do. A timeout, a signal, a command that cannot start or prints too much is an error finding, so
 * the decision sees it; it never throws. On timeout the command's whole process group is killed.
 */
export async function commandGate(command: string, cwd: string, timeoutMs: number, options: CommandGateOptions = {}): Promise<Finding | undefined> {
  const maxChars = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
  const label = clip(command.replace(/\s+/g, ' ').trim(), 80);
  const subprocess = execa('/bin/sh', ['-c', command], {
    cwd,
    reject: false,
    stdin: 'ignore',
    detached: true,
    maxBuffer: MAX_BUFFER_BYTES,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (subprocess.pid === undefined) return;
    try {
      process.kill(-subprocess.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const result = await subprocess;
  clearTimeout(timer);

  if (timedOut) return errorFinding(`gate command \`${label}\` timed out after ${formatMs(timeoutMs)} and was killed`);
  if (result.isMaxBuffer) return errorFinding(`gate command \`${label}\` printed more than ${MAX_BUFFER_BYTES} bytes and was stopped`);
  if (result.exitCode === 0) {
    const stdout = typeof result.stdout === 'string' ? clip(result.stdout.trim(), maxChars) : '';
    const lines = stdout.split('\n').map((line) => line.trimEnd()).filter((line) => line.length > 0);
    const [first, ...rest] = lines;
    const finding: Finding = { source: 'command', summary: first === undefined ? `gate command \`${label}\` exited 0` : clip(first, MAX_SUMMARY_CHARS) };
    if (rest.length > 0) finding.details = capList(rest, MAX_OUTPUT_LINES);
    return finding;
  }
  if (result.exitCode !== undefined) return undefined;
  if (result.signal) return errorFinding(`gate command \`${label}\` was killed by ${result.signal}`);
  return errorFinding(`gate command \`${label}\` could not run: ${clip((result.shortMessage ?? 'unknown error').replace(/\s*\n\s*/g, '; '), 300)}`);
}

function errorFinding(summary: string): Finding {
  return { source: 'command', summary: `error: ${summary}` };
}

export interface GateInput {
  watch?: { paths: readonly string[]; snapshot: Snapshot | undefined; options?: FileWatchOptions };
  command?: { command: string; cwd: string; timeoutMs: number };
  /** Items other extensions report as needing attention. */
  pending?: () => Promise<Finding[]>;
}

export interface GateResult {
  /** True when there is any finding. */
  open: boolean;
  findings: Finding[];
  /** The new snapshot when paths are watched: keep it for the next check. */
  snapshot: Snapshot | undefined;
}

/** Runs every configured check at once. A failing `pending` source becomes an error finding. */
export async function runGate(input: GateInput): Promise<GateResult> {
  const [files, command, pending] = await Promise.all([
    input.watch ? new FileWatchGate(input.watch.paths, input.watch.options).check(input.watch.snapshot) : undefined,
    input.command ? commandGate(input.command.command, input.command.cwd, input.command.timeoutMs) : undefined,
    input.pending ? collectPending(input.pending) : [],
  ]);
  const findings: Finding[] = [];
  if (files && files.total > 0) findings.push(filesFinding(files));
  if (command) findings.push(command);
  findings.push(...pending);
  return { open: findings.length > 0, findings, snapshot: files?.snapshot };
}

async function collectPending(pending: () => Promise<Finding[]>): Promise<Finding[]> {
  try {
    return await pending();
  } catch (error) {
    return [{ source: 'pending', summary: `error: could not list pending items: ${clip(error instanceof Error ? error.message : String(error), MAX_SUMMARY_CHARS)}` }];
  }
}

function filesFinding(check: FileCheck): Finding {
  // The count stays out of the summary so that findings deferred tick after tick merge into one.
  const summary = 'files changed under the watched paths';
  const details = [...check.changed];
  if (check.total > check.changed.length) details.push(`… and ${check.total - check.changed.length} more`);
  return { source: 'files', summary, details };
}

function capList(lines: string[], max: number): string[] {
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max), `… and ${lines.length - max} more lines`];
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

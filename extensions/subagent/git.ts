/**
 * The git work of subagent. Every command goes through a GitRunner: the extension runs lead-side and
 * worker-side commands inside that session's sandbox, so hooks, filters and other commands a
 * repository's configuration names run with the session's rights, never the daemon's.
 */
import path from 'node:path';

export interface GitOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs `git ARGS` (arguments only, never a shell string) in `cwd`. */
export type GitRunner = (args: readonly string[], options?: { readonly input?: string }) => Promise<GitOutput>;

/** Never run the repository's hooks or file-system monitor from the daemon's side. */
export const GIT_HARDENING = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'] as const;

/** The longest patch subagent_diff returns; the rest is cut and said to be cut. */
export const MAX_PATCH_CHARS = 60_000;

/** A git command failed: names the command and what git said. */
export class GitError extends Error {
  readonly code = 'subagent_git';
  constructor(
    readonly command: string,
    readonly detail: string,
  ) {
    super(`git ${command} failed: ${detail}`);
    this.name = 'GitError';
  }
}

/** The lead's working directory is not in a git repository, so no worktree can be made. */
export class NotARepositoryError extends Error {
  readonly code = 'subagent_not_a_repository';
  constructor(readonly cwd: string) {
    super(`${cwd} is not in a git repository, so the worker cannot get a worktree: spawn it with worktree: false, or start the lead in a repository`);
    this.name = 'NotARepositoryError';
  }
}

async function git(run: GitRunner, args: readonly string[], input?: string): Promise<string> {
  const out = await run(args, input !== undefined ? { input } : {});
  const words = args[0] === '-C' ? args.slice(2) : args;
  if (out.exitCode !== 0) throw new GitError(words.slice(0, 2).join(' '), (out.stderr || out.stdout).trim().slice(0, 2000));
  return out.stdout;
}

export interface RepoInfo {
  readonly topLevel: string;
  readonly gitDir: string;
  /** The lead's directory relative to the top level ('' at the top). */
  readonly prefix: string;
  readonly head: string;
  /** The checked-out branch, or undefined on a detached HEAD. */
  readonly branch: string | undefined;
}

/** The repository `cwd` is in, or undefined when it is in none. */
export async function repoInfo(run: GitRunner, cwd: string): Promise<RepoInfo | undefined> {
  const out = await run(['-C', cwd, 'rev-parse', '--show-toplevel', '--git-common-dir', '--show-prefix']);
  if (out.exitCode !== 0) return undefined;
  const [topLevel = '', gitDir = '', prefix = ''] = out.stdout.split('\n');
  const commit = await run(['-C', cwd, 'rev-parse', '--verify', '--quiet', 'HEAD']);
  if (commit.exitCode !== 0) throw new GitError('rev-parse HEAD', `the repository ${topLevel} has no commit yet: a worktree starts from one; commit first`);
  const head = commit.stdout.trim();
  const branch = await run(['-C', cwd, 'symbolic-ref', '--quiet', '--short', 'HEAD']);
  return {
    topLevel,
    gitDir: path.resolve(cwd, gitDir),
    prefix: prefix.replace(/\/$/, ''),
    head,
    branch: branch.exitCode === 0 ? branch.stdout.trim() : undefined,
  };
}

/** Where worker worktrees live: inside the shared git directory, out of the lead's working tree. */
export function worktreePath(gitDir: string, workerId: string): string {
  return path.join(gitDir, 'subagent-worktrees', workerId);
}

export async function addWorktree(run: GitRunner, repo: RepoInfo, dir: string, branch: string): Promise<void> {
  await git(run, ['-C', repo.topLevel, 'worktree', 'add', '--quiet', '-b', branch, dir, repo.head]);
}

/** Copies the lead's uncommitted changes, tracked and untracked (not ignored), into the worktree. */
export async function copyUncommitted(run: GitRunner, repo: RepoInfo, dir: string): Promise<void> {
  const patch = await git(run, ['-C', repo.topLevel, 'diff', '--binary', '--no-ext-diff', 'HEAD']);
  if (patch.trim() !== '') await git(run, ['-C', dir, 'apply', '--binary', '--whitespace=nowarn', '-'], patch);
  const untracked = (await git(run, ['-C', repo.topLevel, 'ls-files', '-z', '--others', '--exclude-standard'])).split('\0').filter(Boolean);
  if (untracked.length === 0) return;
  // git stores the files as blobs and the worktree reads them back: no path of the lead's is followed.
  for (const file of untracked) {
    const blob = (await git(run, ['-C', repo.topLevel, 'hash-object', '-w', '--', file])).trim();
    await git(run, ['-C', dir, 'update-index', '--add', '--cacheinfo', `100644,${blob},${file}`]);
    await git(run, ['-C', dir, 'checkout-index', '--force', '--', file]);
    await git(run, ['-C', dir, 'rm', '--cached', '--quiet', '--', file]);
  }
}

export interface WorktreeDiff {
  readonly stat: string;
  readonly patch: string;
  readonly truncated: boolean;
  /** Files the worker created and did not add (not in the patch). */
  readonly untracked: readonly string[];
  readonly commits: string;
}

/** What the worker changed against its base: committed and uncommitted, stat and (bounded) patch. */
export async function worktreeDiff(run: GitRunner, dir: string, base: string): Promise<WorktreeDiff> {
  const flags = ['--no-ext-diff', '--no-textconv', '--no-color'];
  const stat = await git(run, ['-C', dir, 'diff', ...flags, '--stat', base]);
  const patch = await git(run, ['-C', dir, 'diff', ...flags, base]);
  const commits = await git(run, ['-C', dir, 'log', '--oneline', '--no-decorate', `${base}..HEAD`]);
  const untracked = (await git(run, ['-C', dir, 'ls-files', '-z', '--others', '--exclude-standard'])).split('\0').filter(Boolean);
  const truncated = patch.length > MAX_PATCH_CHARS;
  return { stat, patch: truncated ? `${patch.slice(0, MAX_PATCH_CHARS)}\n[... cut at ${MAX_PATCH_CHARS} characters]` : patch, truncated, untracked, commits };
}

export async function hasUncommittedChanges(run: GitRunner, dir: string): Promise<boolean> {
  return (await git(run, ['-C', dir, 'status', '--porcelain', '--untracked-files=normal'])).trim() !== '';
}

/** Commits on `branch` that `target` does not have; undefined when git cannot tell (a branch renamed or gone). */
export async function unmergedCommits(run: GitRunner, repo: string, branch: string, target: string): Promise<number | undefined> {
  const out = await run(['-C', repo, 'rev-list', '--count', branch, '--not', target]);
  const count = Number(out.stdout.trim());
  return out.exitCode === 0 && Number.isInteger(count) ? count : undefined;
}

export type MergeOutcome =
  | { readonly merged: true; readonly commit: string }
  | { readonly merged: false; readonly conflicts: readonly string[]; readonly detail: string };

/**
 * Merges `branch` into what is checked out in `dir`. On a conflict the merge is aborted, so nothing is
 * left half-merged, and the conflicting files are named.
 */
export async function mergeBranch(run: GitRunner, dir: string, branch: string, message: string): Promise<MergeOutcome> {
  const identity = await run(['-C', dir, 'config', 'user.email']);
  const author = identity.exitCode === 0 ? [] : ['-c', 'user.name=claude-ext subagent', '-c', 'user.email=subagent@claude-ext.invalid'];
  const out = await run([...author, '-C', dir, 'merge', '--no-ff', '--no-edit', '-m', message, branch]);
  if (out.exitCode === 0) {
    const commit = (await git(run, ['-C', dir, 'rev-parse', 'HEAD'])).trim();
    return { merged: true, commit };
  }
  const conflicts = (await run(['-C', dir, 'diff', '--name-only', '--diff-filter=U'])).stdout.split('\n').filter(Boolean);
  const merging = await run(['-C', dir, 'rev-parse', '-q', '--verify', 'MERGE_HEAD']);
  if (merging.exitCode === 0) await git(run, ['-C', dir, 'merge', '--abort']);
  return { merged: false, conflicts, detail: (out.stdout + out.stderr).trim().slice(0, 2000) };
}

/** Removes a worktree's directory registration and its branch (the directory itself is removed by the caller). */
export async function forgetWorktree(run: GitRunner, repo: string, branch: string): Promise<void> {
  await git(run, ['-C', repo, 'worktree', 'prune']);
  await run(['-C', repo, 'branch', '-D', branch]);
}

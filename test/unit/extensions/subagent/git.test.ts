import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { execa } from 'execa';
import { MAX_PATCH_CHARS, mergeBranch, repoInfo, unmergedCommits, worktreeDiff, type GitRunner } from '../../../../extensions/subagent/git.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

const run: GitRunner = async (args, options) => {
  const out = await execa('git', [...args], { reject: false, ...(options?.input !== undefined ? { input: options.input } : {}) });
  return { stdout: String(out.stdout), stderr: String(out.stderr), exitCode: out.exitCode ?? 1 };
};

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
}

function repoWithBranches(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'subagent-git-'));
  roots.push(root);
  git(root, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(root, 'file.txt'), 'base\n');
  git(root, 'add', '.');
  git(root, 'commit', '-qm', 'base');
  for (const branch of ['left', 'right']) {
    git(root, 'checkout', '-q', '-b', branch, 'main');
    fs.writeFileSync(path.join(root, 'file.txt'), `${branch}\n`);
    git(root, 'commit', '-qam', branch);
  }
  git(root, 'checkout', '-q', 'main');
  return root;
}

describe('subagent git', () => {
  test('repoInfo: the top level, the shared git directory, the prefix and the branch; none outside a repository', async () => {
    const root = repoWithBranches();
    fs.mkdirSync(path.join(root, 'sub'));
    const info = await repoInfo(run, path.join(root, 'sub'));
    assert.deepEqual([info?.topLevel, info?.gitDir, info?.prefix, info?.branch], [fs.realpathSync(root), path.join(fs.realpathSync(root), '.git'), 'sub', 'main']);
    assert.equal(await repoInfo(run, os.tmpdir()), undefined);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'subagent-empty-'));
    roots.push(empty);
    git(empty, 'init', '-q');
    await assert.rejects(repoInfo(run, empty), /has no commit yet: a worktree starts from one; commit first/);
  });

  test('a conflicting merge is aborted, names the files and leaves the tree as it was', async () => {
    const root = repoWithBranches();
    assert.deepEqual(await mergeBranch(run, root, 'left', 'take left'), { merged: true, commit: git(root, 'rev-parse', 'HEAD').trim() });
    const head = git(root, 'rev-parse', 'HEAD');
    const outcome = await mergeBranch(run, root, 'right', 'take right');
    assert.equal(outcome.merged, false);
    assert.deepEqual(outcome.merged ? [] : outcome.conflicts, ['file.txt']);
    assert.equal(git(root, 'status', '--porcelain'), '');
    assert.equal(git(root, 'rev-parse', 'HEAD'), head);
    assert.equal(await unmergedCommits(run, root, 'right', 'main'), 1);
    assert.equal(await unmergedCommits(run, root, 'left', 'main'), 0);
    // A branch git cannot find is not taken for merged: removing its worktree could lose work.
    assert.equal(await unmergedCommits(run, root, 'right', 'renamed-away'), undefined);
  });

  test('a failing command is named with what git said', async () => {
    const root = repoWithBranches();
    await assert.rejects(worktreeDiff(run, root, 'no-such-base'), /^GitError: git diff --no-ext-diff failed: fatal: .*no-such-base/);
  });

  test('a diff is cut when long, and says so', async () => {
    const root = repoWithBranches();
    const base = git(root, 'rev-parse', 'HEAD').trim();
    fs.writeFileSync(path.join(root, 'big.txt'), 'x'.repeat(MAX_PATCH_CHARS * 2));
    git(root, 'add', 'big.txt');
    fs.writeFileSync(path.join(root, 'loose.txt'), 'not added\n');
    const diff = await worktreeDiff(run, root, base);
    assert.equal(diff.truncated, true);
    assert.match(diff.patch, /\[\.\.\. cut at 60000 characters\]$/);
    assert.match(diff.stat, /big\.txt/);
    assert.deepEqual(diff.untracked, ['loose.txt']);
  });
});

/**
 * subagent end to end: a lead session (the real claude CLI, scripted through the stand-in model) starts
 * workers in git worktrees of their own; the workers' tasks are scripts too, so they really run Bash and
 * commit. The lead waits, reads the diffs and merges; a conflicting merge is aborted; a daemon killed
 * while workers run loses nothing; the worker limit and the missing tools of workers hold.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { CLI, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

interface WorkerJson {
  id: string;
  name: string;
  status: string;
  branch?: string;
  worktree?: string;
  removed?: boolean;
  result?: { outcome: string; text: string };
}

interface TreeJson {
  lead: { id: string; name?: string };
  workers: WorkerJson[];
}

const call = (tool: string, input: Record<string, unknown>): string => `@tool mcp__subagent__subagent_${tool} ${JSON.stringify(input)}`;
const commitStep = (file: string, content: string): string =>
  `@tool Bash ${JSON.stringify({ command: `printf '${content}\\n' > ${file} && git add ${file} && git -c user.name=W -c user.email=w@example.com commit -qm 'add ${file}'` })}`;
const commitScript = (file: string, content: string, reply: string): string => [commitStep(file, content), `@reply ${reply}`].join('\n');
/** Commits, tries to write the lead's working tree (the worktree is <repo>/.git/subagent-worktrees/<id>), and replies. */
const commitAndTrespassScript = (file: string, content: string, reply: string): string =>
  [commitStep(file, content), `@tool Bash ${JSON.stringify({ command: `touch ../../../written-by-${file} 2>&1 || true` })}`, `@reply ${reply}`].join('\n');

describe('subagent', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;
  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const git = (repo: string, ...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });

  const makeRepo = (name: string, files: Record<string, string> = { 'README.md': 'hello\n' }): string => {
    const repo = path.join(world.workDir, name);
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(repo, file), text);
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-qm', 'start');
    return repo;
  };
  /** Runs one lead turn and answers its result text. */
  const lead = async (user: string, text: string, create?: { cwd: string }): Promise<string> => {
    const where = create ? ['--new', '--name', 'lead', '--cwd', create.cwd] : ['--session', 'lead'];
    const run = await cli(['prompt', '--user', user, ...where, '--json', text]);
    assert.equal(run.code, 0, run.stderr);
    const result = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; result?: { text: string } })
      .find((event) => event.type === 'result');
    return result?.result?.text ?? '';
  };
  /** Runs `claude-ext ARGS` and answers the prompt's ids once the model calls `tool`. */
  const followUntilToolUse = (args: string[], tool: string): { child: ChildProcess; reached: Promise<{ sessionId: string; promptId: string }> } => {
    const child = spawn(process.execPath, [CLI, ...args, '--config', config], { cwd: world.root, env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const reached = new Promise<{ sessionId: string; promptId: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no call of ${tool} in time; the prompt printed:\n${seen}`)), 60_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        for (const line of seen.split('\n').slice(0, -1)) {
          const event = JSON.parse(line) as { type: string; name?: string; sessionId: string; promptId: string };
          if (event.type === 'tool_use' && event.name === tool) {
            clearTimeout(timer);
            resolve({ sessionId: event.sessionId, promptId: event.promptId });
          }
        }
      });
    });
    return { child, reached };
  };
  const trees = async (user: string): Promise<TreeJson[]> => {
    const run = await cli(['subagents', '--user', user, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as TreeJson[];
  };

  before(async () => {
    world = await createWorld('subagent');
    config = writeConfig(world, '  max_per_user: 10\nenabled: [subagent]\n');
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('two workers commit in their worktrees; the lead waits for both, reads both diffs and merges both', async () => {
    const repo = makeRepo('two-workers');
    const spawned = await lead(
      'alice',
      [
        call('spawn', { name: 'alpha', task: commitAndTrespassScript('alpha.txt', 'from alpha', 'alpha done') }),
        call('spawn', { name: 'beta', task: commitAndTrespassScript('beta.txt', 'from beta', 'beta done') }),
        call('wait', { mode: 'all', timeout_s: 60 }),
        '@echo-tool',
      ].join('\n'),
      { cwd: repo },
    );
    const waited = JSON.parse(spawned) as { finished: WorkerJson[]; pending: string[]; timedOut: boolean };
    assert.equal(waited.timedOut, false, spawned);
    assert.deepEqual(waited.finished.map((w) => [w.name, w.status, w.result?.text]).sort(), [['alpha', 'done', 'alpha done'], ['beta', 'done', 'beta done']]);
    for (const worker of waited.finished) assert.equal(worker.branch, `subagent/${worker.id}`);

    const alphaDiff = JSON.parse(await lead('alice', `${call('diff', { id: 'alpha' })}\n@echo-tool`)) as { stat: string; patch: string; commits: string };
    assert.match(alphaDiff.stat, /alpha\.txt/);
    assert.match(alphaDiff.patch, /\+from alpha/);
    assert.match(alphaDiff.commits, /add alpha\.txt/);
    assert.doesNotMatch(alphaDiff.patch, /beta/, 'each worker has a worktree of its own');
    const betaDiff = JSON.parse(await lead('alice', `${call('diff', { id: 'beta' })}\n@echo-tool`)) as { patch: string };
    assert.match(betaDiff.patch, /\+from beta/);

    for (const name of ['alpha', 'beta']) {
      const merged = JSON.parse(await lead('alice', `${call('merge', { id: name })}\n@echo-tool`)) as { merged: boolean; into: string };
      assert.deepEqual([merged.merged, merged.into], [true, 'main'], JSON.stringify(merged));
    }
    assert.equal(fs.readFileSync(path.join(repo, 'alpha.txt'), 'utf8'), 'from alpha\n');
    assert.equal(fs.readFileSync(path.join(repo, 'beta.txt'), 'utf8'), 'from beta\n');
    const log = git(repo, 'log', '--format=%s', 'main');
    assert.match(log, /add alpha\.txt/);
    assert.match(log, /add beta\.txt/);
    assert.equal(git(repo, 'status', '--porcelain'), '');
    // A worker may write its worktree and the git directory only (this tree, under /tmp, is even out of its sight).
    assert.deepEqual(fs.readdirSync(repo).filter((f) => f.startsWith('written-by-')), [], "a worker cannot write its lead's working tree");

    const cleaned = JSON.parse(await lead('alice', `${call('cleanup', { id: 'all' })}\n@echo-tool`)) as { removed: string[]; kept: unknown[] };
    assert.equal(cleaned.removed.length, 2, JSON.stringify(cleaned));
    assert.deepEqual(cleaned.kept, []);
    assert.equal(git(repo, 'branch', '--list', 'subagent/*'), '');
    assert.equal(git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
    const sessions = JSON.parse((await cli(['sessions', '--user', 'alice', '--json'])).stdout) as { name: string }[];
    assert.deepEqual(sessions.map((s) => s.name), ['lead']);
  });

  test('two workers change the same line: the second merge reports the conflict and leaves the tree clean', async () => {
    const repo = makeRepo('conflict', { 'shared.txt': 'original\n' });
    const script = (content: string): string =>
      [`@tool Bash ${JSON.stringify({ command: `printf '${content}\\n' > shared.txt && git -c user.name=W -c user.email=w@example.com commit -qam '${content}'` })}`, '@reply committed'].join('\n');
    await lead(
      'bob',
      [call('spawn', { name: 'one', task: script('one') }), call('spawn', { name: 'two', task: script('two') }), call('wait', { timeout_s: 60 }), '@echo-tool'].join('\n'),
      { cwd: repo },
    );
    const first = JSON.parse(await lead('bob', `${call('merge', { id: 'one' })}\n@echo-tool`)) as { merged: boolean };
    assert.equal(first.merged, true);
    const second = JSON.parse(await lead('bob', `${call('merge', { id: 'two' })}\n@echo-tool`)) as { merged: boolean; conflicts: string[]; detail: string };
    assert.equal(second.merged, false);
    assert.deepEqual(second.conflicts, ['shared.txt']);
    assert.equal(git(repo, 'status', '--porcelain'), '', 'nothing is left half-merged');
    assert.equal(fs.readFileSync(path.join(repo, 'shared.txt'), 'utf8'), 'one\n');
    const refused = JSON.parse(await lead('bob', `${call('cleanup', { id: 'two' })}\n@echo-tool`)) as { removed: string[]; kept: { reason: string }[] };
    assert.deepEqual(refused.removed, []);
    assert.match(refused.kept[0]?.reason ?? '', /1 commit not merged into main/);

    const [tree] = await trees('bob');
    const worktreeOf = (name: string): string => tree?.workers.find((w) => w.name === name)?.worktree ?? '';
    const deleted = await cli(['delete', 'lead', '--user', 'bob']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor('the deleted lead to take its workers', async () => {
      const sessions = JSON.parse((await cli(['sessions', '--user', 'bob', '--json'])).stdout) as unknown[];
      return sessions.length === 0;
    });
    await waitFor('the merged worktree to go', () => !fs.existsSync(worktreeOf('one')));
    assert.ok(fs.existsSync(worktreeOf('two')), 'the worktree with a commit not merged is kept');
    assert.match(git(repo, 'branch', '--list', 'subagent/*'), /subagent\//);
    const kept = (await trees('bob'))[0]?.workers ?? [];
    assert.deepEqual(kept.map((w) => [w.name, w.removed]), [['two', true]], 'and reported');
  });

  test('a worker that finishes while its lead is idle tells the lead with a prompt', async () => {
    const plain = path.join(world.workDir, 'notice');
    fs.mkdirSync(plain);
    // The worker answers well after the lead's turn has ended, so the lead is idle then.
    await lead('erin', `${call('spawn', { name: 'late', task: '@wait 4000\n@reply the late answer' })}\n@reply spawned`, { cwd: plain });
    const notice = await waitFor('the notice to reach the lead', async () => {
      const run = await cli(['wait', '--session', 'lead', '--user', 'erin', '--json']);
      const text = (JSON.parse(run.stdout || '{}') as { text?: string; result?: { text: string } }).result?.text ?? '';
      return /\[subagent\] Worker late/.test(text) ? text : undefined;
    });
    assert.match(notice, /finished: done\. the late answer/);
  });

  test('a daemon killed while a worker runs: after the restart the worker is listed and subagent_wait returns its result', async () => {
    const repo = makeRepo('restart');
    const script = [call('spawn', { name: 'slow', task: `@wait 6000\n${commitScript('slow.txt', 'slow', 'slow done')}` }), call('wait', { timeout_s: 60 }), '@echo-tool'].join('\n');
    const following = followUntilToolUse(['prompt', '--user', 'carol', '--new', '--name', 'lead', '--cwd', repo, '--json', script], 'mcp__subagent__subagent_wait');
    const ids = await following.reached;
    await waitFor('the worker to run', async () => (await trees('carol'))[0]?.workers.find((w) => w.name === 'slow' && w.status === 'running'));
    // The model asked for the wait; a moment more and the call is at the daemon.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await daemon.kill();
    following.child.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const listed = (await trees('carol'))[0]?.workers.find((w) => w.name === 'slow');
    assert.ok(listed, 'the worker is still listed after the restart');
    const waited = await cli(['wait', '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    const result = (JSON.parse(waited.stdout) as { result?: { text: string } }).result?.text ?? '';
    const outcome = JSON.parse(result) as { finished: WorkerJson[] };
    assert.deepEqual(outcome.finished.map((w) => [w.name, w.status, w.result?.text]), [['slow', 'done', 'slow done']]);
    assert.ok(fs.existsSync(path.join(listed.worktree ?? '', 'slow.txt')), 'the worker committed in its worktree');
    const log = fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8');
    assert.match(log, /resuming a tool call after a restart.*"tool":"subagent_wait"/, 'the CLI came back for the wait and the new daemon ran it again');
  });

  test('limits: the fifth worker is refused naming the limit; a worker has no subagent tools; no worktree outside a repository', async () => {
    const plain = path.join(world.workDir, 'not-a-repo');
    fs.mkdirSync(plain);
    const outside = await lead('dave', `${call('spawn', { task: '@reply never', worktree: true })}\n@echo-tool`, { cwd: plain });
    assert.match(outside, /is not in a git repository/);
    const refused = await lead(
      'dave',
      [
        call('spawn', { name: 'w1', task: '@tool mcp__subagent__subagent_list {}\n@echo-tool' }),
        ...['w2', 'w3', 'w4'].map((name) => call('spawn', { name, task: '@reply ok' })),
        call('spawn', { name: 'w5', task: '@reply ok' }),
        '@echo-tool',
      ].join('\n'),
    );
    assert.match(refused, /already has 4 workers, the most allowed \(subagent\.max_workers\)/);
    const waited = JSON.parse(await lead('dave', `${call('wait', { ids: ['w1', 'w2', 'w3', 'w4'], timeout_s: 60 })}\n@echo-tool`)) as { finished: WorkerJson[] };
    assert.equal(waited.finished.length, 4);
    const w1 = waited.finished.find((w) => w.name === 'w1');
    assert.match(w1?.result?.text ?? '', /No such tool available: mcp__subagent__subagent_list/);
    const listed = await cli(['subagents', '--user', 'dave', '--lead', 'lead']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^lead \([^,]+, dave, \w+\) {2}workers \$\d+\.\d{4}\n/);
    for (const name of ['w1', 'w2', 'w3', 'w4']) assert.match(listed.stdout, new RegExp(`\\n {2}w-[0-9a-f]{10} {2}${name} {2}coder {2}done {2}\\$\\d`));
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { commandGate, FileWatchGate, runGate, type Finding } from '../../../../extensions/heartbeat/gate.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'heartbeat-gate-')));
  dirs.push(dir);
  return dir;
}

function write(file: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Moves a file's mtime, so a modification does not depend on the clock's resolution. */
function touch(file: string, seconds: number): void {
  fs.utimesSync(file, seconds, seconds);
}

describe('FileWatchGate', () => {
  test('the first check is a baseline and reports nothing', async () => {
    const dir = tempDir();
    write(path.join(dir, 'a.txt'));
    const { changed, total, snapshot } = await new FileWatchGate([dir]).check(undefined);
    assert.deepEqual(changed, []);
    assert.equal(total, 0);
    assert.ok(path.join(dir, 'a.txt') in snapshot.entries, 'the baseline holds the file');
    assert.equal(snapshot.complete, true);
  });

  test('nothing changed, nothing reported', async () => {
    const dir = tempDir();
    write(path.join(dir, 'sub', 'a.txt'));
    const gate = new FileWatchGate([dir]);
    const first = await gate.check(undefined);
    const second = await gate.check(first.snapshot);
    assert.deepEqual(second.changed, []);
  });

  test('reports files added, modified and removed, recursively', async () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'deep', 'b.txt');
    write(a);
    write(b);
    touch(a, 1_700_000_000);
    const gate = new FileWatchGate([dir]);
    const { snapshot } = await gate.check(undefined);

    touch(a, 1_700_000_100);
    fs.rmSync(b);
    const c = path.join(dir, 'deep', 'new', 'c.txt');
    write(c);
    const result = await gate.check(snapshot);
    assert.deepEqual(result.changed, [a, b, path.join(dir, 'deep', 'new'), c]);
    assert.equal(result.total, 4);
  });

  test('a content change of the same size at the same mtime is not seen, a size change is', async () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.txt');
    write(a, 'one');
    touch(a, 1_700_000_000);
    const gate = new FileWatchGate([dir]);
    const { snapshot } = await gate.check(undefined);
    write(a, 'two');
    touch(a, 1_700_000_000);
    assert.deepEqual((await gate.check(snapshot)).changed, []);
    write(a, 'three');
    touch(a, 1_700_000_000);
    assert.deepEqual((await gate.check(snapshot)).changed, [a]);
  });

  test('ignores .git and node_modules at any depth', async () => {
    const dir = tempDir();
    write(path.join(dir, 'keep.txt'));
    const gate = new FileWatchGate([dir]);
    const { snapshot } = await gate.check(undefined);
    write(path.join(dir, '.git', 'HEAD'));
    write(path.join(dir, 'pkg', 'node_modules', 'x', 'index.js'));
    write(path.join(dir, 'node_modules', 'y.js'));
    const result = await gate.check(snapshot);
    assert.deepEqual(result.changed, [path.join(dir, 'pkg')], 'only the new directory that holds node_modules');
    assert.ok(!Object.keys(result.snapshot.entries).some((p) => p.includes('node_modules') || p.includes('.git')));
  });

  test('watches single files, and paths that do not exist yet', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'notes.md');
    const later = path.join(dir, 'later');
    write(file);
    write(path.join(dir, 'other.txt'));
    const gate = new FileWatchGate([file, later]);
    const { snapshot } = await gate.check(undefined);
    assert.deepEqual(Object.keys(snapshot.entries), [file]);
    write(path.join(dir, 'other.txt'), 'changed, but not watched');
    write(path.join(later, 'x'));
    assert.deepEqual((await gate.check(snapshot)).changed, [later, path.join(later, 'x')]);
  });

  test('a snapshot of other paths is a new baseline', async () => {
    const one = tempDir();
    const two = tempDir();
    write(path.join(two, 'x'));
    const { snapshot } = await new FileWatchGate([one]).check(undefined);
    assert.deepEqual((await new FileWatchGate([two]).check(snapshot)).changed, []);
  });

  test('caps the list of changed paths but counts them all', async () => {
    const dir = tempDir();
    const gate = new FileWatchGate([dir], { maxChanged: 3 });
    const { snapshot } = await gate.check(undefined);
    for (let i = 0; i < 7; i++) write(path.join(dir, `f${i}`));
    const result = await gate.check(snapshot);
    assert.equal(result.changed.length, 3);
    assert.equal(result.total, 7);
  });

  test('stops at the entry limit and does not mistake the edge of the walk for changes', async () => {
    const dir = tempDir();
    for (const name of ['a', 'b', 'c', 'd']) write(path.join(dir, name));
    // The directory itself, then a and b.
    const gate = new FileWatchGate([dir], { maxEntries: 3 });
    const first = await gate.check(undefined);
    assert.equal(first.snapshot.complete, false);
    assert.deepEqual(Object.keys(first.snapshot.entries), [dir, path.join(dir, 'a'), path.join(dir, 'b')]);

    write(path.join(dir, 'e'));
    assert.deepEqual((await gate.check(first.snapshot)).changed, [], 'beyond the limit: not seen');

    fs.rmSync(path.join(dir, 'a'));
    const second = await gate.check(first.snapshot);
    assert.deepEqual(second.changed, [path.join(dir, 'a')], 'c, now inside the limit, is not reported as added');
  });
});

/** Whether a process exits within a second: it no longer exists, or is a zombie nobody has reaped yet. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (/^State:\s+Z/m.test(readIfExists(`/proc/${pid}/status`))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('commandGate', () => {
  test('exit 0 needs attention: the first line of stdout is the summary, the rest the details', async () => {
    const finding = await commandGate('printf "  2 PRs to review\\n#12 fix\\n\\n#13 docs\\n"', tempDir(), 5_000);
    assert.deepEqual(finding, { source: 'command', summary: '2 PRs to review', details: ['#12 fix', '#13 docs'] });
  });

  test('exit 0 without output still needs attention', async () => {
    const finding = await commandGate('true', tempDir(), 5_000);
    assert.equal(finding?.source, 'command');
    assert.match(finding?.summary ?? '', /exited 0/);
  });

  test('any other exit code means nothing to do', async () => {
    assert.equal(await commandGate('echo busy; exit 1', tempDir(), 5_000), undefined);
    assert.equal(await commandGate('exit 7', tempDir(), 5_000), undefined);
  });

  test('runs in the given directory', async () => {
    const dir = tempDir();
    assert.equal((await commandGate('pwd', dir, 5_000))?.summary, dir);
  });

  test('caps the output it keeps', async () => {
    const finding = await commandGate('for i in $(seq 1 500); do echo "line $i"; done', tempDir(), 5_000, { maxOutputChars: 100 });
    const kept = [finding?.summary ?? '', ...(finding?.details ?? [])].join('\n');
    assert.ok(kept.length <= 101, `kept ${kept.length} characters`);
    assert.equal(finding?.summary, 'line 1');
  });

  test('a timeout is an error finding, and the command and its children are killed', async () => {
    const dir = tempDir();
    const started = Date.now();
    const finding = await commandGate('sleep 20 & echo $! > child.pid; wait; echo done', dir, 300);
    assert.ok(Date.now() - started < 5_000, 'did not wait for the command');
    assert.equal(finding?.source, 'command');
    assert.match(finding?.summary ?? '', /^error: .*timed out after 300ms/);
    const child = Number(fs.readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    assert.ok(child > 0);
    assert.equal(await gone(child), true, `the background child ${child} was killed`);
  });

  test('a command that cannot start is an error finding, not a throw', async () => {
    const finding = await commandGate('true', path.join(tempDir(), 'missing'), 5_000);
    assert.match(finding?.summary ?? '', /^error: .*could not run/);
  });

  test('a command killed by a signal is an error finding', async () => {
    const finding = await commandGate('kill -KILL $$', tempDir(), 5_000);
    assert.match(finding?.summary ?? '', /^error: .*SIGKILL/);
  });
});

describe('runGate', () => {
  test('closed when nothing is configured or nothing is found', async () => {
    assert.deepEqual(await runGate({}), { open: false, findings: [], snapshot: undefined });
    const result = await runGate({ command: { command: 'exit 1', cwd: tempDir(), timeoutMs: 5_000 }, pending: async () => [] });
    assert.equal(result.open, false);
  });

  test('open with every source that found something, and returns the new snapshot', async () => {
    const dir = tempDir();
    const baseline = await runGate({ watch: { paths: [dir], snapshot: undefined } });
    assert.equal(baseline.open, false);
    assert.ok(baseline.snapshot);

    write(path.join(dir, 'new.txt'));
    const pendingItem: Finding = { source: 'pending', summary: '1 question waiting for an answer' };
    const result = await runGate({
      watch: { paths: [dir], snapshot: baseline.snapshot },
      command: { command: 'echo ready', cwd: dir, timeoutMs: 5_000 },
      pending: async () => [pendingItem],
    });
    assert.equal(result.open, true);
    assert.deepEqual(result.findings, [
      { source: 'files', summary: 'files changed under the watched paths', details: [path.join(dir, 'new.txt')] },
      { source: 'command', summary: 'ready' },
      pendingItem,
    ]);
    assert.ok(path.join(dir, 'new.txt') in (result.snapshot?.entries ?? {}));
  });

  test('lists how many more paths changed than it shows', async () => {
    const dir = tempDir();
    const baseline = await runGate({ watch: { paths: [dir], snapshot: undefined, options: { maxChanged: 2 } } });
    for (let i = 0; i < 5; i++) write(path.join(dir, `f${i}`));
    const result = await runGate({ watch: { paths: [dir], snapshot: baseline.snapshot, options: { maxChanged: 2 } } });
    assert.deepEqual(result.findings[0]?.details, [path.join(dir, 'f0'), path.join(dir, 'f1'), '… and 3 more']);
  });

  test('a failing pending source is an error finding', async () => {
    const result = await runGate({
      pending: async () => {
        throw new Error('store offline');
      },
    });
    assert.equal(result.open, true);
    assert.deepEqual(result.findings, [{ source: 'pending', summary: 'error: could not list pending items: store offline' }]);
  });
});

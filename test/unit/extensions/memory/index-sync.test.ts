import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { alice, memoryFixture, terminal, type MemoryFixture } from './memory-fixture.ts';

describe('IndexSync', () => {
  let memory: MemoryFixture;
  beforeEach(() => {
    memory = memoryFixture();
  });
  afterEach(() => memory.close());
  const paths = (query: string): string[] => memory.book.search('alice', query).map((r) => r.path);

  test('a scan picks up notes added, edited, moved and deleted by hand, and skips links and dot-files', () => {
    const dir = path.join(memory.root, 'users', 'alice');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sub', 'hand.md'), '# Hand\nzeppelin');
    fs.writeFileSync(path.join(dir, '.draft.md'), 'zeppelin');
    fs.symlinkSync(path.join(dir, 'sub', 'hand.md'), path.join(dir, 'link.md'));
    assert.deepEqual(memory.sync.scan(), { files: 1, indexed: 1, removed: 0 });
    assert.deepEqual(paths('zeppelin'), ['sub/hand.md']);
    fs.renameSync(path.join(dir, 'sub'), path.join(dir, 'moved'));
    memory.sync.scan();
    assert.deepEqual(paths('zeppelin'), ['moved/hand.md']);
    fs.rmSync(path.join(dir, 'moved'), { recursive: true });
    assert.deepEqual(memory.sync.scan(), { files: 0, indexed: 0, removed: 1 });
    assert.deepEqual(paths('zeppelin'), []);
  });

  test('a cleared index is rebuilt from the files', () => {
    memory.book.save(alice, 'a.md', '# A\naardvark', 'create');
    memory.book.save(terminal, 'shared/b.md', '# B\naardvark too', 'create');
    memory.index.clear();
    assert.equal(memory.index.all().length, 0);
    assert.deepEqual(memory.sync.scan(), { files: 2, indexed: 2, removed: 0 });
    assert.deepEqual(paths('aardvark').sort(), ['a.md', 'shared/b.md']);
  });

  test('the watcher counts only once it reported its probe; hand edits are found by the next search, watched or not', async () => {
    memory.sync.watch();
    assert.equal(memory.sync.watching, false, 'not before the probe came back');
    const deadline = Date.now() + 3000;
    while (!memory.sync.watching && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // A machine with no inotify instance left cannot watch, without an error: the probe says so.
    assert.equal(memory.sync.watching, await canWatch(memory.root));
    fs.mkdirSync(path.join(memory.root, 'users', 'alice'), { recursive: true });
    fs.writeFileSync(path.join(memory.root, 'users', 'alice', 'w.md'), '# W\nwombat');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(paths('wombat'), ['w.md']);
  });
});

/** Whether fs.watch reports a change here and now (it may not, when the inotify instances are used up). */
async function canWatch(dir: string): Promise<boolean> {
  const probe = path.join(dir, 'shared', 'can-watch');
  return new Promise((resolve) => {
    let seen = false;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(path.join(dir, 'shared'), () => (seen = true));
    } catch {
      resolve(false);
      return;
    }
    fs.writeFileSync(probe, 'x');
    setTimeout(() => {
      watcher.close();
      fs.rmSync(probe, { force: true });
      resolve(seen);
    }, 500);
  });
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { privateDirProblems } from '../../../../core/util/files.ts';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'files-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('privateDirProblems', () => {
  test('a 0700 directory of our own has none', () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir, { mode: 0o700 });
    assert.deepEqual(privateDirProblems(dir), []);
  });

  test('group or other access is a problem whose fix is chmod 700', () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    for (const mode of [0o755, 0o750, 0o701]) {
      fs.chmodSync(dir, mode);
      const problems = privateDirProblems(dir);
      assert.equal(problems.length, 1, mode.toString(8));
      assert.match(problems[0] ?? '', new RegExp(`mode ${mode.toString(8)}.*\`chmod 700 ${dir}\``));
    }
  });

  test('another owner is a problem whose fix is chown', { skip: process.geteuid?.() !== 0 && 'only root can give a directory to another user' }, () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, 65534, 65534);
    const problems = privateDirProblems(dir);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', new RegExp(`belongs to uid 65534, not to ${os.userInfo().username} .*\`chown ${os.userInfo().username} ${dir}\``));
  });
});

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertWorkingDirAllowed } from '../../../../core/sessions/working-roots.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'roots-'));
const dir = (...parts: string[]): string => {
  const full = path.join(root, ...parts);
  fs.mkdirSync(full, { recursive: true });
  return full;
};
const state = dir('state');
const alice = dir('alice');
const shared = dir('shared');
const outside = dir('outside');
fs.symlinkSync(outside, path.join(alice, 'link-out'));
const roots = { default: [shared], alice: [alice] };

after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('sessions.roots', () => {
  test("a user's own roots and their sub-directories are allowed", () => {
    assert.doesNotThrow(() => assertWorkingDirAllowed(roots, 'alice', alice, state));
    assert.doesNotThrow(() => assertWorkingDirAllowed(roots, 'alice', dir('alice', 'project'), state));
    assert.doesNotThrow(() => assertWorkingDirAllowed(roots, 'bob', dir('shared', 'x'), state));
  });

  test('a directory outside is refused with the allowed roots and the key to change', () => {
    assert.throws(() => assertWorkingDirAllowed(roots, 'alice', shared, state), {
      message: `working directory ${shared} is outside the directories user "alice" may work in: ${alice} (sessions.roots.alice in config.yaml)`,
    });
    assert.throws(() => assertWorkingDirAllowed(roots, 'bob', alice, state), /may work in: .*shared \(sessions\.roots\.default in config\.yaml\)/);
  });

  test('a symbolic link cannot lead out of a root', () => {
    assert.throws(() => assertWorkingDirAllowed(roots, 'alice', path.join(alice, 'link-out'), state), /outside the directories/);
  });

  test("the daemon's state dir is refused even inside a root", () => {
    assert.throws(() => assertWorkingDirAllowed({ default: [root] }, 'bob', dir('state', 'sessions'), state), /inside the daemon's state dir/);
  });

  test('a sibling whose name starts like a root is not inside it', () => {
    assert.throws(() => assertWorkingDirAllowed(roots, 'alice', dir('alice-other'), state), /outside the directories/);
  });
});

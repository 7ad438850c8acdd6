import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decideAccess } from '../../../../extensions/telegram/access.ts';
import { BotState } from '../../../../extensions/telegram/bot-state.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A bot state in a fresh directory, as the extension keeps it. */
function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-tg-access-'));
  dirs.push(dir);
  return dir;
}

const config = (allowed_users: Array<number | string>, allow_all = false) => ({ allowed_users, allow_all });
const ALICE = { id: 111, username: 'alice' };

test('numeric ids, the same digits as a string, and nobody else', () => {
  const state = new BotState(freshDir());
  assert.equal(decideAccess(config([111, '222']), state, ALICE).allowed, true);
  assert.equal(decideAccess(config([111, '222']), state, { id: 222 }).allowed, true);
  assert.equal(decideAccess(config([111, '222']), state, { id: 333, username: 'alice' }).allowed, false);
  assert.equal(decideAccess(config([111]), state, undefined).allowed, false);
  assert.equal(decideAccess(config([], true), state, { id: 333 }).allowed, true);
});

test('a username is bound to the first account that has it; a later account with the name is refused, across restarts', () => {
  const dir = freshDir();
  const first = decideAccess(config(['@Alice']), new BotState(dir), ALICE);
  assert.deepEqual(first, { allowed: true, bound: 'alice' }, 'any case, with or without @');

  const restarted = new BotState(dir);
  assert.equal(restarted.usernameOwner('alice'), 111, 'the binding is on disk');
  assert.deepEqual(decideAccess(config(['@alice']), restarted, ALICE), { allowed: true }, 'the same account again: allowed, nothing new bound');
  assert.deepEqual(decideAccess(config(['@alice']), restarted, { id: 999, username: 'Alice' }), { allowed: false, taken: { username: 'alice', owner: 111 } });
  assert.equal(decideAccess(config(['@alice']), restarted, { id: 111, username: 'alice_renamed' }).allowed, true, 'the bound account keeps access after renaming itself');
  assert.equal(decideAccess(config(['@alice']), restarted, { id: 999 }).allowed, false);
});

test('a username listed next to its account\'s id is bound too, so nobody can take it over later', () => {
  const state = new BotState(freshDir());
  assert.deepEqual(decideAccess(config([111, 'alice']), state, ALICE), { allowed: true, bound: 'alice' });
  assert.equal(decideAccess(config([111, 'alice']), state, { id: 999, username: 'alice' }).allowed, false);
});

test('a binding counts only while its username is listed', () => {
  const state = new BotState(freshDir());
  decideAccess(config(['alice']), state, ALICE);
  assert.equal(decideAccess(config(['bob']), state, ALICE).allowed, false);
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TokenStore } from '../../../../extensions/web/token-store.ts';

const made: string[] = [];
const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-unit-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

describe('TokenStore', () => {
  test('a token verifies as its user, is kept only as a hash, survives a reload and dies when revoked', () => {
    const dir = tempDir();
    const store = new TokenStore(dir);
    const alice = store.create('alice', 'laptop');
    const bob = store.create('bob', undefined);
    assert.equal(store.verify(alice.token)?.user, 'alice');
    assert.equal(store.verify(bob.token)?.user, 'bob');
    assert.equal(store.verify(`${alice.token.slice(0, -1)}${alice.token.endsWith('A') ? 'B' : 'A'}`), undefined);
    assert.equal(store.verify('not a token'), undefined);
    const onDisk = fs.readFileSync(store.file, 'utf8');
    assert.ok(!onDisk.includes(alice.token.slice(-32)));
    assert.equal((fs.statSync(store.file).mode & 0o077), 0, 'not readable by others');
    const reloaded = new TokenStore(dir);
    assert.equal(reloaded.verify(alice.token)?.id, alice.id);
    assert.deepEqual(reloaded.list('alice').map((t) => t.name), ['laptop']);
    assert.equal(reloaded.revoke('laptop', 'bob'), undefined, "a user's token is not revoked under another user");
    assert.equal(reloaded.revoke('laptop', 'alice')?.id, alice.id);
    assert.equal(reloaded.verify(alice.token), undefined);
    assert.equal(new TokenStore(dir).verify(alice.token), undefined);
  });

  test('a damaged file stops the start with its name', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'tokens.json'), '{"version":2}');
    assert.throws(() => new TokenStore(dir), /tokens\.json is not a version 1 token file/);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import vaultExtension from '../../../../extensions/vault/extension.ts';
import type { ListedEntry } from '../../../../extensions/vault/protocol.ts';
import { fakeSession, startExtension, type ExtensionFixture, invalidField } from '../extension-fixture.ts';

const SECRET = 'ghp_S3cretValueThatMustNeverLeak0123456789';


describe('vault methods check every field before storing or running anything', () => {
  let vault: ExtensionFixture<unknown>;
  const alice = fakeSession('alice');
  const file = (): string => fs.readFileSync(path.join(vault.dataDir, 'vault.json'), 'utf8');

  before(async () => {
    vault = await startExtension(vaultExtension());
    await vault.call('vault.store', { key: 'github/token', value: 'first' }, alice);
  });
  after(async () => {
    await vault.stop();
  });

  test('store: a bad key, value, tag or user is refused naming the field, without the secret; the vault file is unchanged', async () => {
    const before = file();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ key: SECRET, value: 'x' }, 'key', /invalid vault key: it has 1 segment/],
      [{ key: 'github/token', value: '' }, 'value', /it is empty/],
      [{ key: 'github/token', value: 'v'.repeat(64 * 1024 + 1) }, 'value', /at most 65536/],
      [{ key: 'github/token', value: SECRET, tags: ['CI'] }, 'tags', /invalid vault tag/],
      [{ key: 'github/token', value: SECRET, tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }, 'tags', /too many vault tags/],
      [{ key: 'github/token', value: SECRET, user: 'bo\u0007b' }, 'user', /invalid vault user/],
    ];
    for (const [params, field, pattern] of cases) {
      await assert.rejects(vault.call('vault.store', params), invalidField(field, pattern), field);
      assert.equal(file(), before, field);
    }
    assert.deepEqual((await vault.call<ListedEntry[]>('vault.list', {})).map((e) => e.key), ['github/token']);
  });

  test('delete with a bad key, and a run whose variable is not a vault reference, are refused naming the field', async () => {
    const before = file();
    await assert.rejects(vault.call('vault.delete', { key: '../token' }, alice), invalidField('key'));
    assert.equal(file(), before);
    await assert.rejects(vault.call('vault.run', { command: 'true', env: { GH_TOKEN: 'github/token' } }, alice), invalidField('env.GH_TOKEN', /expected "vault:<key>"/));
    await assert.rejects(vault.call('vault.run', { command: 'true', env: { GH_TOKEN: 'vault:token' } }, alice), invalidField('env.GH_TOKEN', /invalid vault key/));
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, 'vault:github/token']));
    await assert.rejects(vault.call('vault.run', { command: 'true', env: many }, alice), invalidField('env', /at most 64/));
    assert.deepEqual(vault.records.filter((r) => r.type === 'vault_run'), [], 'nothing was run');
  });
});

describe('vault configuration', () => {
  test('run_timeout is from 1s to 24 days: a longer timer would end every command at once', () => {
    const parse = (config: Record<string, unknown>) => vaultExtension().configSchema?.safeParse(config);
    assert.equal(parse({ run_timeout: '24d' })?.success, true);
    for (const config of [{ run_timeout: '25d' }, { run_timeout: 0 }]) assert.equal(parse(config)?.success, false, JSON.stringify(config));
  });
});

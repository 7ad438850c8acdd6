import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import nacl from 'tweetnacl';
import { InvalidVaultKeyError, validateKey, validateTags } from '../../../../extensions/vault/keys.ts';
import { PASSPHRASE_ENV, resolvePassphrase } from '../../../../extensions/vault/passphrase.ts';
import {
  VaultConflictError,
  VaultFormatError,
  VaultStore,
  WrongPassphraseError,
  type VaultOpenOptions,
} from '../../../../extensions/vault/store.ts';

const FAST: VaultOpenOptions = { kdf: { N: 2 ** 10 } };
const PASS = 'correct horse battery staple';
const SECRET = 'ghp_S3cretValueThatMustNeverLeak0123456789';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-'));
  dirs.push(dir);
  return dir;
}

function vaultFile(): string {
  return path.join(tempDir(), 'data', 'vault.json');
}

interface Header {
  format: string;
  version: number;
  kdf: { name: string; N: number; r: number; p: number; maxmem?: number; salt: string };
  nonce: string;
  box: string;
}

function header(file: string): Header {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Header;
}

/** Decrypts a vault file from its header alone, as the format describes: key = scrypt(passphrase, salt, 32). */
function decryptByHand(file: string, passphrase: string): unknown {
  const { kdf, nonce, box } = header(file);
  const key = crypto.scryptSync(passphrase, Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * 1024 * 1024 });
  const plain = nacl.secretbox.open(Buffer.from(box, 'base64'), Buffer.from(nonce, 'base64'), key);
  assert.ok(plain, 'the box opens with the key derived from the header');
  return JSON.parse(Buffer.from(plain).toString('utf8'));
}

/** A clock that advances one second per reading. */
function ticking(): () => Date {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return () => new Date((t += 1000));
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected an error');
}

const unix = process.platform !== 'win32';
const mode = (file: string): number => fs.statSync(file).mode & 0o777;

describe('VaultStore', () => {
  test('credentials survive a reopen; an update keeps createdAt and moves updatedAt', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, { ...FAST, now: ticking() });
    vault.set('alice', 'github/token', SECRET, ['ci', 'personal']);
    vault.set('alice', 'aws/prod/key', 'AKIA-second');
    vault.set('alice', 'github/token', `${SECRET}-v2`);

    const reopened = VaultStore.open(file, PASS);
    assert.equal(reopened.get('alice', 'github/token'), `${SECRET}-v2`);
    assert.equal(reopened.get('alice', 'aws/prod/key'), 'AKIA-second');
    assert.equal(reopened.get('alice', 'missing/key'), undefined);
    assert.deepEqual(reopened.list('alice'), [
      { key: 'aws/prod/key', tags: [], createdAt: '2025-01-01T00:00:02.000Z', updatedAt: '2025-01-01T00:00:02.000Z' },
      // tags omitted on update: the old ones stay
      { key: 'github/token', tags: ['ci', 'personal'], createdAt: '2025-01-01T00:00:01.000Z', updatedAt: '2025-01-01T00:00:03.000Z' },
    ]);
  });

  test('delete removes a credential for good and says whether there was one', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    vault.set('alice', 'github/token', SECRET);
    const before = fs.readFileSync(file);
    assert.equal(vault.delete('alice', 'nope/none'), false);
    assert.deepEqual(fs.readFileSync(file), before, 'a delete of nothing writes nothing');
    assert.equal(vault.delete('alice', 'github/token'), true);
    assert.equal(vault.get('alice', 'github/token'), undefined);
    assert.equal(VaultStore.open(file, PASS).get('alice', 'github/token'), undefined);
  });

  test('users are isolated from each other', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    vault.set('alice', 'github/token', SECRET);
    vault.set('bob', 'slack/token', 'xoxb-bob');

    assert.equal(vault.get('bob', 'github/token'), undefined);
    assert.deepEqual(vault.list('bob').map((e) => e.key), ['slack/token']);
    assert.deepEqual(vault.values('bob'), ['xoxb-bob']);
    assert.equal(vault.delete('bob', 'github/token'), false);
    assert.equal(vault.get('alice', 'github/token'), SECRET);
    assert.deepEqual(vault.list('carol'), []);
    assert.deepEqual(vault.values(), [SECRET, 'xoxb-bob']);

    const reopened = VaultStore.open(file, PASS);
    assert.equal(reopened.get('bob', 'github/token'), undefined);
    assert.equal(reopened.get('alice', 'github/token'), SECRET);
  });

  test('list shows metadata only, never values, and filters by tag', () => {
    const vault = VaultStore.open(vaultFile(), PASS, FAST);
    vault.set('alice', 'github/token', SECRET, ['ci']);
    vault.set('alice', 'npm/token', 'npm_other_secret', ['ci', 'publish']);
    vault.set('alice', 'home/wifi', 'wifi-password');

    const listed = vault.list('alice');
    for (const entry of listed) assert.deepEqual(Object.keys(entry).sort(), ['createdAt', 'key', 'tags', 'updatedAt']);
    const text = JSON.stringify(listed);
    for (const value of [SECRET, 'npm_other_secret', 'wifi-password']) assert.ok(!text.includes(value));
    assert.deepEqual(vault.list('alice', 'ci').map((e) => e.key), ['github/token', 'npm/token']);
    assert.deepEqual(vault.list('alice', 'publish').map((e) => e.key), ['npm/token']);
    assert.deepEqual(vault.list('alice', 'none'), []);
  });

  test('values are distinct, longest first', () => {
    const vault = VaultStore.open(vaultFile(), PASS, FAST);
    vault.set('alice', 'a/short', 'abc');
    vault.set('alice', 'a/long', 'abcdef');
    vault.set('bob', 'b/same', 'abc');
    assert.deepEqual(vault.values(), ['abcdef', 'abc']);
  });

  test('a wrong passphrase throws WrongPassphraseError and leaves the file byte for byte', () => {
    const file = vaultFile();
    VaultStore.open(file, PASS, FAST).set('alice', 'github/token', SECRET);
    const before = fs.readFileSync(file);
    const error = thrown(() => VaultStore.open(file, 'not the passphrase'));
    assert.ok(error instanceof WrongPassphraseError);
    assert.equal(error.file, file);
    assert.match(error.message, /wrong passphrase/);
    assert.ok(error.message.includes(file));
    assert.ok(!error.message.includes('not the passphrase'));
    assert.ok(!error.message.includes(SECRET));
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(VaultStore.open(file, PASS).get('alice', 'github/token'), SECRET);
  });

  test('an altered box reads as a wrong passphrase, not as data', () => {
    const file = vaultFile();
    VaultStore.open(file, PASS, FAST).set('alice', 'github/token', SECRET);
    const h = header(file);
    const box = Buffer.from(h.box, 'base64');
    box[box.length - 1]! ^= 1;
    fs.writeFileSync(file, JSON.stringify({ ...h, box: box.toString('base64') }));
    assert.throws(() => VaultStore.open(file, PASS), WrongPassphraseError);
  });

  test('every write uses a fresh nonce, under the same salt', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    vault.set('alice', 'github/token', SECRET);
    const first = header(file);
    vault.set('alice', 'github/token', SECRET);
    const second = header(file);
    vault.set('alice', 'github/token', SECRET);
    const third = header(file);
    assert.equal(Buffer.from(first.nonce, 'base64').length, 24);
    assert.equal(new Set([first.nonce, second.nonce, third.nonce]).size, 3);
    assert.notEqual(first.box, second.box);
    assert.equal(first.kdf.salt, second.kdf.salt);
  });

  test('the file is created 0600 and stays 0600 after writes', { skip: !unix }, () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    assert.equal(mode(file), 0o600);
    vault.set('alice', 'github/token', SECRET);
    assert.equal(mode(file), 0o600);
    vault.rekey('another passphrase');
    assert.equal(mode(file), 0o600);
  });

  test('nothing readable is in the file: not values, keys, users or tags', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    vault.set('alice-the-user', 'githubservice/tokenname', SECRET, ['sometag']);
    const bytes = fs.readFileSync(file);
    for (const needle of [SECRET, 'ghp_S3cret', 'alice-the-user', 'githubservice', 'tokenname', 'sometag']) {
      assert.equal(bytes.indexOf(needle), -1, `${needle} is in the file`);
      assert.equal(bytes.indexOf(Buffer.from(needle).toString('base64').slice(0, 12)), -1);
    }
    const h = header(file);
    assert.equal(h.format, 'claude-ext-vault');
    assert.equal(h.version, 1);
  });

  test('a temp file left by a crash does not affect opening or writing', () => {
    const file = vaultFile();
    VaultStore.open(file, PASS, FAST).set('alice', 'github/token', SECRET);
    const good = fs.readFileSync(file);
    // a crash between writing the temp file and the rename: partial new content next to the old file
    const stale = `${file}.tmp-999999-1`;
    fs.writeFileSync(stale, good.subarray(0, Math.floor(good.length / 2)));

    const vault = VaultStore.open(file, PASS);
    assert.equal(vault.get('alice', 'github/token'), SECRET);
    vault.set('alice', 'npm/token', 'npm_x');
    assert.equal(VaultStore.open(file, PASS).get('alice', 'npm/token'), 'npm_x');
    // our own temp files are gone: only the vault and the stale file remain
    assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), ['vault.json', path.basename(stale)].sort());
  });

  test('a failed write changes neither the file nor the store', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    vault.set('alice', 'github/token', SECRET);
    const before = fs.readFileSync(file);
    const rename = fs.renameSync;
    fs.renameSync = () => {
      throw Object.assign(new Error('simulated I/O error'), { code: 'EIO' });
    };
    try {
      assert.throws(() => vault.set('alice', 'github/token', 'new-value'), /simulated I\/O error/);
      assert.throws(() => vault.rekey('another passphrase'), /simulated I\/O error/);
    } finally {
      fs.renameSync = rename;
    }
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(vault.get('alice', 'github/token'), SECRET);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['vault.json']);
    // the store still holds the old key and state, so the next write succeeds
    vault.set('alice', 'npm/token', 'npm_x');
    const reopened = VaultStore.open(file, PASS);
    assert.equal(reopened.get('alice', 'github/token'), SECRET);
    assert.equal(reopened.get('alice', 'npm/token'), 'npm_x');
  });

  test('the file follows the documented format: header, then a secretbox under scrypt(passphrase, salt)', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, { ...FAST, now: () => new Date('2025-02-03T04:05:06Z') });
    vault.set('alice', 'github/token', SECRET, ['ci']);
    assert.deepEqual(Object.keys(header(file)).sort(), ['box', 'format', 'kdf', 'nonce', 'version']);
    const stamp = '2025-02-03T04:05:06.000Z';
    const expected = { users: { alice: { 'github/token': { value: SECRET, tags: ['ci'], createdAt: stamp, updatedAt: stamp } } } };
    assert.deepEqual(decryptByHand(file, PASS), expected);
    vault.rekey('new passphrase', { N: 2 ** 11, r: 4 });
    assert.deepEqual(decryptByHand(file, 'new passphrase'), expected);
  });

  test('the header records the scrypt parameters, and open follows them', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, { kdf: { N: 2 ** 10, r: 4, p: 2 } });
    vault.set('alice', 'github/token', SECRET);
    const h = header(file);
    assert.deepEqual({ name: h.kdf.name, N: h.kdf.N, r: h.kdf.r, p: h.kdf.p }, { name: 'scrypt', N: 1024, r: 4, p: 2 });
    assert.equal(Buffer.from(h.kdf.salt, 'base64').length, 16);

    // no options (the defaults would be N=2^15, r=8): the header decides
    const reopened = VaultStore.open(file, PASS);
    assert.deepEqual(reopened.kdfParams, { N: 1024, r: 4, p: 2 });
    assert.equal(reopened.get('alice', 'github/token'), SECRET);
    reopened.set('alice', 'npm/token', 'npm_x');
    assert.equal(header(file).kdf.N, 1024);
  });

  test('rekey raises the parameters, changes passphrase and salt, and keeps the credentials', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    vault.set('alice', 'github/token', SECRET);
    const oldSalt = header(file).kdf.salt;

    vault.rekey('new passphrase', { N: 2 ** 11 });
    const h = header(file);
    assert.equal(h.kdf.N, 2048);
    assert.equal(h.kdf.r, 8);
    assert.notEqual(h.kdf.salt, oldSalt);
    assert.deepEqual(vault.kdfParams, { N: 2048, r: 8, p: 1 });

    assert.throws(() => VaultStore.open(file, PASS), WrongPassphraseError);
    const reopened = VaultStore.open(file, 'new passphrase');
    assert.equal(reopened.get('alice', 'github/token'), SECRET);
    // the store keeps working under the new key
    vault.set('alice', 'npm/token', 'npm_x');
    assert.equal(VaultStore.open(file, 'new passphrase').get('alice', 'npm/token'), 'npm_x');
  });

  test('the default parameters are N=2^15, r=8, p=1, and work', () => {
    const file = vaultFile();
    VaultStore.open(file, PASS).set('alice', 'github/token', SECRET);
    const h = header(file);
    assert.deepEqual({ N: h.kdf.N, r: h.kdf.r, p: h.kdf.p }, { N: 2 ** 15, r: 8, p: 1 });
    assert.equal(VaultStore.open(file, PASS).get('alice', 'github/token'), SECRET);
  });

  test('unusable scrypt parameters are refused', () => {
    assert.throws(() => VaultStore.open(vaultFile(), PASS, { kdf: { N: 1000 } }), /N must be a power of two/);
    assert.throws(() => VaultStore.open(vaultFile(), PASS, { kdf: { N: 2 ** 4 } }), /N must be a power of two/);
    assert.throws(() => VaultStore.open(vaultFile(), PASS, { kdf: { N: 2 ** 10, r: 0 } }), /r must be/);
    const vault = VaultStore.open(vaultFile(), PASS, FAST);
    assert.throws(() => vault.rekey('x', { N: 2 ** 30 }), /N must be a power of two/);
  });

  test('a corrupt or foreign file is named in the error and never overwritten', () => {
    const good = vaultFile();
    VaultStore.open(good, PASS, FAST).set('alice', 'github/token', SECRET);
    const h = header(good);
    const cases: [string, string | Buffer, RegExp][] = [
      ['garbage', 'this is not json{', /not JSON/],
      ['empty', '', /empty/],
      ['foreign', JSON.stringify({ format: 'something-else', version: 1 }), /not a claude-ext vault/],
      ['future', JSON.stringify({ ...h, version: 2 }), /version 2 is not supported/],
      ['huge N', JSON.stringify({ ...h, kdf: { ...h.kdf, N: 2 ** 30 } }), /scrypt parameters are unusable/],
      ['bad nonce', JSON.stringify({ ...h, nonce: 'AAAA' }), /nonce is 3 bytes/],
      ['not base64', JSON.stringify({ ...h, box: '!!!!' }), /"box" is not base64/],
    ];
    for (const [name, content, expected] of cases) {
      const file = path.join(tempDir(), 'vault.json');
      fs.writeFileSync(file, content);
      const before = fs.readFileSync(file);
      const error = thrown(() => VaultStore.open(file, PASS, FAST));
      assert.ok(error instanceof VaultFormatError, `${name}: ${error.name}`);
      assert.ok(error.message.includes(file), `${name}: the message names the file`);
      assert.match(error.message, expected, name);
      assert.deepEqual(fs.readFileSync(file), before, `${name}: the file is untouched`);
    }
  });

  test('a second writer that changed the file is detected instead of overwritten', () => {
    const file = vaultFile();
    const first = VaultStore.open(file, PASS, FAST);
    const second = VaultStore.open(file, PASS);
    first.set('alice', 'github/token', SECRET);
    const error = thrown(() => second.set('bob', 'slack/token', 'xoxb-bob'));
    assert.ok(error instanceof VaultConflictError);
    assert.ok(!error.message.includes('xoxb-bob'));
    const reopened = VaultStore.open(file, PASS);
    assert.equal(reopened.get('alice', 'github/token'), SECRET);
    assert.equal(reopened.get('bob', 'slack/token'), undefined);
  });

  test('a closed store refuses to work', () => {
    const vault = VaultStore.open(vaultFile(), PASS, FAST);
    vault.set('alice', 'github/token', SECRET);
    vault.close();
    assert.throws(() => vault.get('alice', 'github/token'), /closed/);
    assert.throws(() => vault.set('alice', 'github/token', SECRET), /closed/);
  });
});

describe('vault keys and tags', () => {
  test('service/name paths are accepted', () => {
    for (const key of ['github/token', 'aws/prod/access-key_id', 'a/b', 'svc.v2/x.y', `${'a'.repeat(64)}/b`, 'a/b/c/d/e/f/g/h']) {
      assert.equal(validateKey(key), key);
    }
  });

  test('anything else is rejected with the expected form', () => {
    const bad = [
      'github',
      '',
      'a//b',
      '/a/b',
      'a/b/',
      'a/../b',
      'a/./b',
      'a..b/c',
      'a b/c',
      'a/b$',
      'ü/x',
      'a/b/c/d/e/f/g/h/i',
      `${'a'.repeat(65)}/b`,
      `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}/${'d'.repeat(20)}`,
    ];
    for (const key of bad) {
      const error = thrown(() => validateKey(key));
      assert.ok(error instanceof InvalidVaultKeyError, JSON.stringify(key));
      assert.match(error.message, /github\/token/);
    }
    assert.throws(() => validateKey(42), InvalidVaultKeyError);
  });

  test('tags are lowercase words, at most 16, deduplicated', () => {
    assert.deepEqual(validateTags(['ci', 'ci', 'pub-lish_2']), ['ci', 'pub-lish_2']);
    assert.throws(() => validateTags(['CI']), /invalid vault tag/);
    assert.throws(() => validateTags(['']), /invalid vault tag/);
    assert.throws(() => validateTags(['x'.repeat(33)]), /invalid vault tag/);
    assert.throws(() => validateTags(Array.from({ length: 17 }, (_, i) => `t${i}`)), /too many vault tags/);
    assert.equal(validateTags(Array.from({ length: 16 }, (_, i) => `t${i}`)).length, 16);
  });

  test('an invalid set writes nothing', () => {
    const file = vaultFile();
    const vault = VaultStore.open(file, PASS, FAST);
    const before = fs.readFileSync(file);
    assert.throws(() => vault.set('alice', 'bad key', SECRET), InvalidVaultKeyError);
    assert.throws(() => vault.set('alice', 'github/token', SECRET, ['BAD']), /invalid vault tag/);
    assert.throws(() => vault.set('alice', 'github/token', ''), /empty/);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(vault.list('alice'), []);
  });
});

describe('secrets stay out of error messages', () => {
  test('no error from set repeats the value, even with key and value swapped', () => {
    const vault = VaultStore.open(vaultFile(), PASS, FAST);
    const attempts: (() => unknown)[] = [
      () => vault.set('alice', 'bad key!', SECRET),
      () => vault.set('alice', SECRET, 'github/token'), // swapped arguments: the "key" is the secret
      () => vault.set('alice', `github/${SECRET}$`, 'x'),
      () => vault.set('alice', 'github/token', SECRET, [SECRET]),
      () => vault.set(SECRET + '\n', 'github/token', 'x'),
      () => vault.set('alice', 'github/token', SECRET.repeat(2000)),
    ];
    for (const attempt of attempts) {
      const error = thrown(attempt);
      assert.ok(!error.message.includes(SECRET), error.message);
      assert.ok(!error.message.includes('S3cret'), error.message);
    }
  });
});

describe('resolvePassphrase', () => {
  function passphraseFile(content: string, fileMode = 0o600): string {
    const file = path.join(tempDir(), 'vault-pass');
    fs.writeFileSync(file, content, { mode: fileMode });
    fs.chmodSync(file, fileMode);
    return file;
  }

  test('the environment variable wins over the file and the generated one', () => {
    const dataDir = tempDir();
    const result = resolvePassphrase({ env: { [PASSPHRASE_ENV]: 'from-env' }, passphraseFile: passphraseFile('from-file\n'), dataDir });
    assert.deepEqual(result, { passphrase: 'from-env', source: 'env' });
    assert.equal(fs.existsSync(path.join(dataDir, 'passphrase')), false);
  });

  test('an empty environment variable is an error, not a silent fallback', () => {
    assert.throws(() => resolvePassphrase({ env: { [PASSPHRASE_ENV]: '' }, dataDir: tempDir() }), new RegExp(`${PASSPHRASE_ENV} is set but empty`));
  });

  test('the configured file comes next, without its trailing newline', () => {
    const file = passphraseFile('from file with spaces \n');
    const result = resolvePassphrase({ env: {}, passphraseFile: file, dataDir: tempDir() });
    assert.deepEqual(result, { passphrase: 'from file with spaces ', source: 'file', file });
  });

  test('a missing, unreadable or empty file is an error naming it', () => {
    const missing = path.join(tempDir(), 'absent');
    assert.throws(() => resolvePassphrase({ env: {}, passphraseFile: missing, dataDir: tempDir() }), (error: Error) => error.message.includes(missing));
    const directory = tempDir();
    assert.throws(() => resolvePassphrase({ env: {}, passphraseFile: directory, dataDir: tempDir() }), (error: Error) => error.message.includes(directory));
    const empty = passphraseFile('\n');
    assert.throws(() => resolvePassphrase({ env: {}, passphraseFile: empty, dataDir: tempDir() }), (error: Error) => error.message.includes(empty) && /empty/.test(error.message));
  });

  test('a file other users can read gives a warning', { skip: !unix }, () => {
    const file = passphraseFile('pass\n', 0o644);
    const result = resolvePassphrase({ env: {}, passphraseFile: file, dataDir: tempDir() });
    assert.equal(result.passphrase, 'pass');
    assert.match(result.warning ?? '', /mode 644/);
    assert.ok(result.warning?.includes(file));
    assert.ok(!result.warning?.includes('pass\n'));
    assert.equal(resolvePassphrase({ env: {}, passphraseFile: passphraseFile('pass\n'), dataDir: tempDir() }).warning, undefined);
  });

  test('otherwise a passphrase is generated once into <dataDir>/passphrase, 0600, and reused', () => {
    const dataDir = path.join(tempDir(), 'data', 'vault');
    const first = resolvePassphrase({ env: {}, dataDir });
    const file = path.join(dataDir, 'passphrase');
    assert.equal(first.source, 'generated');
    assert.equal(first.file, file);
    assert.equal(first.created, true);
    assert.match(first.passphrase, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(first.passphrase, 'base64url').length, 32);
    assert.equal(fs.readFileSync(file, 'utf8').trim(), first.passphrase);
    if (unix) assert.equal(mode(file), 0o600);

    const second = resolvePassphrase({ env: {}, dataDir });
    assert.deepEqual(second, { passphrase: first.passphrase, source: 'generated', file, created: false });
    assert.deepEqual(fs.readdirSync(dataDir), ['passphrase'], 'no temp files are left behind');

    // and it opens the vault it created
    const vaultPath = path.join(dataDir, 'vault.json');
    VaultStore.open(vaultPath, first.passphrase, FAST).set('alice', 'github/token', SECRET);
    assert.equal(VaultStore.open(vaultPath, second.passphrase).get('alice', 'github/token'), SECRET);
  });
});

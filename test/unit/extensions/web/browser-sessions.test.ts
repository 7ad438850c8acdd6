import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { adminCredential, type AdminCredential } from '../../../../core/bridge/credentials.ts';
import { Authenticator, COOKIE } from '../../../../extensions/web/auth.ts';
import { BrowserSessions } from '../../../../extensions/web/browser-sessions.ts';
import { TokenStore } from '../../../../extensions/web/token-store.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
const freshDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-logins-'));
  dirs.push(dir);
  return dir;
};
/** The daemon's admin credential, which a test may renew (as a daemon start with a new admin.token does). */
const renewable = (token: string): AdminCredential & { renew(next: string): void } => {
  let current = adminCredential(token);
  return {
    matches: (presented) => current.matches(presented),
    get fingerprint() {
      return current.fingerprint;
    },
    renew: (next) => (current = adminCredential(next)),
  };
};
const withCookie = (cookie: string, csrf?: string) => ({ cookie: `other=1; ${COOKIE}=${cookie}`, ...(csrf ? { 'x-csrf-token': csrf } : {}) });

test('a login outlives the process that made it; only hashes are on disk; it expires', () => {
  const dir = freshDir();
  let now = 1_000_000;
  const tokens = new TokenStore(dir);
  const alice = tokens.create('alice', 'laptop').token;
  const first = new Authenticator(renewable('admin-secret'), tokens, new BrowserSessions(dir, 60_000, () => now));
  const { cookie, csrf } = first.login(alice);
  const onDisk = fs.readFileSync(path.join(dir, 'logins.json'), 'utf8');
  assert.ok(!onDisk.includes(cookie) && !onDisk.includes(csrf), 'neither the cookie nor the CSRF token is kept as it is');

  const second = new Authenticator(renewable('admin-secret'), tokens, new BrowserSessions(dir, 60_000, () => now));
  assert.deepEqual(second.authenticate('GET', withCookie(cookie)), { kind: 'user', user: 'alice', tokenId: tokens.list('alice')[0]!.id });
  assert.throws(() => second.authenticate('POST', withCookie(cookie)), /X-CSRF-Token/);
  assert.throws(() => second.authenticate('POST', withCookie(cookie, `${csrf}x`)), /X-CSRF-Token/);
  assert.equal(second.authenticate('POST', withCookie(cookie, csrf)).kind, 'user');

  now += 60_001;
  assert.throws(() => second.authenticate('GET', withCookie(cookie)), /log in/);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'logins.json'), 'utf8')).logins, [], 'the expired login is gone from the file');
});

test('logging out, revoking the token and a new admin credential each end a login; the admin credential is not kept', () => {
  const dir = freshDir();
  const tokens = new TokenStore(dir);
  const credential = renewable('admin-secret');
  const auth = new Authenticator(credential, tokens, new BrowserSessions(dir, 60_000));
  const bob = tokens.create('bob', 'phone').token;

  const out = auth.login(bob);
  auth.logout(withCookie(out.cookie));
  assert.throws(() => auth.authenticate('GET', withCookie(out.cookie)), /log in/);

  const revoked = auth.login(bob);
  assert.equal(auth.authenticate('GET', withCookie(revoked.cookie)).kind, 'user');
  tokens.revoke('phone', 'bob');
  assert.throws(() => auth.authenticate('GET', withCookie(revoked.cookie)), /log in/);

  const admin = auth.login('admin-secret');
  assert.deepEqual(auth.authenticate('GET', withCookie(admin.cookie)), { kind: 'admin' });
  assert.ok(!fs.readFileSync(path.join(dir, 'logins.json'), 'utf8').includes('admin-secret'));
  credential.renew('renewed-secret');
  assert.throws(() => auth.authenticate('GET', withCookie(admin.cookie)), /log in/);
});

import assert from 'node:assert/strict';
import test from 'node:test';
import { adminCredential, NO_ADMIN_CREDENTIAL } from '../../../../core/bridge/credentials.ts';

test('the admin credential is checked, never shown: its fingerprint tells nothing of it and changes with it', () => {
  const credential = adminCredential('s3cret-admin-token');
  assert.equal(credential.matches('s3cret-admin-token'), true);
  assert.equal(credential.matches('s3cret-admin-token '), false);
  assert.equal(credential.matches(''), false);
  assert.match(credential.fingerprint, /^[0-9a-f]{64}$/);
  assert.ok(!credential.fingerprint.includes('s3cret'));
  assert.equal(adminCredential('s3cret-admin-token').fingerprint, credential.fingerprint, 'the same credential, the same fingerprint');
  assert.notEqual(adminCredential('another-admin-token').fingerprint, credential.fingerprint);
  assert.equal(NO_ADMIN_CREDENTIAL.matches(''), false);
});

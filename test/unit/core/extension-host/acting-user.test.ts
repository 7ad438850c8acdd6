import assert from 'node:assert/strict';
import test from 'node:test';
import { actingUser, DEFAULT_USER, visibleUser } from '../../../../core/extension-host/acting-user.ts';

const session = { kind: 'session' as const, sessionId: 's_1', user: 'alice', extension: 'vault' };
const admin = { kind: 'admin' as const };
const anonymous = { kind: 'anonymous' as const };

test('a session acts for and sees only its own user; naming another is refused', () => {
  assert.equal(actingUser(session, 'alice', undefined), 'alice');
  assert.equal(actingUser(session, 'alice', 'alice'), 'alice');
  assert.throws(() => actingUser(session, 'alice', 'bob'), /only for its own user/);
  assert.equal(visibleUser(session, 'alice', undefined), 'alice');
  assert.throws(() => visibleUser(session, 'alice', 'bob'), /only for its own user/);
});

test('the admin acts for the user it names, else the default user; naming none, it sees every user', () => {
  assert.equal(actingUser(admin, undefined, 'bob'), 'bob');
  assert.equal(actingUser(admin, undefined, undefined), DEFAULT_USER);
  assert.equal(visibleUser(admin, undefined, 'bob'), 'bob');
  assert.equal(visibleUser(admin, undefined, undefined), undefined);
});

test('a caller without a credential acts for nobody and sees nothing', () => {
  assert.throws(() => actingUser(anonymous, undefined, 'bob'), /acts for nobody/);
  assert.throws(() => visibleUser(anonymous, undefined, undefined), /sees nobody/);
});

test('the admin acting for one user is held to that user, as a session is', () => {
  const admin = { kind: 'admin' } as const;
  assert.equal(actingUser(admin, undefined, undefined, 'alice'), 'alice');
  assert.equal(visibleUser(admin, undefined, undefined, 'alice'), 'alice');
  assert.equal(visibleUser(admin, undefined, 'alice', 'alice'), 'alice');
  assert.throws(() => actingUser(admin, undefined, 'bob', 'alice'), /acts for user "alice" only/);
  assert.throws(() => visibleUser(admin, undefined, 'bob', 'alice'), /acts for user "alice" only/);
});

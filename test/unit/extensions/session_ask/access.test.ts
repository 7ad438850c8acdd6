import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionSummary } from '../../../../core/extension-host/extension-api.ts';
import { reachableUsers, resolveTarget, SessionNotReachableError } from '../../../../extensions/session_ask/access.ts';
import sessionAskExtension from '../../../../extensions/session_ask/extension.ts';
import { fakeSession } from '../extension-fixture.ts';

const all = [fakeSession('alice', { id: 's_a1', name: 'build' }), fakeSession('alice', { id: 's_a2', name: 'review' }), fakeSession('bob', { id: 's_b1', name: 'build' }), fakeSession('carol', { id: 's_c1', name: 'ops' })];

/** find and get as the daemon answers them: find by id or name, of one user when given. */
const sessions = {
  find(ref: string, user?: string): SessionSummary {
    const found = all.find((s) => (s.id === ref || s.name === ref) && (user === undefined || s.user === user));
    if (!found) throw new Error(`no session ${ref}`);
    return found;
  },
  get: (id: string): SessionSummary | undefined => all.find((s) => s.id === id),
};

test("a session finds its own user's sessions by name or id, and no other user's", () => {
  assert.equal(resolveTarget(sessions, 'alice', 'review', []).id, 's_a2');
  assert.equal(resolveTarget(sessions, 'alice', 's_a1', []).id, 's_a1');
  assert.equal(resolveTarget(sessions, 'alice', 'build', []).id, 's_a1', 'its own "build", not bob\'s');
  for (const ref of ['s_b1', 'bob/build', 'ops']) {
    assert.throws(() => resolveTarget(sessions, 'alice', ref, []), (error: unknown) => {
      assert.ok(error instanceof SessionNotReachableError);
      assert.equal(error.message, `no session "${ref}" of user alice; session_list shows the sessions you can ask`);
      return true;
    });
  }
});

test('a configured pair lets one user reach another, in that direction only', () => {
  const pairs = [{ from: 'alice', to: 'bob' }];
  assert.equal(resolveTarget(sessions, 'alice', 'bob/build', pairs).id, 's_b1');
  assert.equal(resolveTarget(sessions, 'alice', 's_b1', pairs).id, 's_b1');
  assert.throws(() => resolveTarget(sessions, 'alice', 'carol/ops', pairs), /of user alice or of bob;/);
  assert.throws(() => resolveTarget(sessions, 'bob', 'alice/review', pairs), SessionNotReachableError);
  assert.throws(() => resolveTarget(sessions, 'bob', 's_a2', pairs), SessionNotReachableError);
  assert.deepEqual(reachableUsers('alice', [...pairs, { from: 'alice', to: 'alice' }, { from: 'alice', to: 'bob' }]), ['alice', 'bob']);
});

test('configuration: defaults, and bounds on depth, timeouts and pairs', () => {
  const parse = (config: Record<string, unknown>) => sessionAskExtension().configSchema?.safeParse(config);
  const defaults = parse({});
  assert.ok(defaults?.success);
  assert.deepEqual(defaults.data, { timeout: 600_000, max_timeout: 86_400_000, max_depth: 3, cross_user: [] });
  assert.equal(parse({ timeout: '30s', max_depth: 1, cross_user: [{ from: 'alice', to: 'bob' }] })?.success, true);
  for (const config of [{ max_depth: 0 }, { max_depth: 1.5 }, { timeout: 0 }, { max_timeout: '367d' }, { cross_user: [{ from: 'alice' }] }, { cross_user: [{ from: 'a', to: 'b', also: 'c' }] }, { unknown: 1 }]) {
    assert.equal(parse(config)?.success, false, JSON.stringify(config));
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger, type Logger } from '../../../../core/util/log.ts';
import webExtension from '../../../../extensions/web/extension.ts';
import { fakeSession, startExtension } from '../extension-fixture.ts';

test('a listen address beyond loopback is refused without allow_remote, and warned about without a TLS proxy', async () => {
  await assert.rejects(startExtension(webExtension(), { listen: '0.0.0.0:0' }), /not a loopback address: set web\.allow_remote: true/);
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) };
  const remote = await startExtension(webExtension(), { listen: '0.0.0.0:0', allow_remote: true }, { logger });
  await remote.stop();
  assert.match(warnings.join('\n'), /without TLS/);
});

test('tokens are made, listed and revoked by the admin only; the event log never gets the secret', async () => {
  const web = await startExtension(webExtension(), { listen: '127.0.0.1:0' });
  try {
    const created = await web.call<{ id: string; token: string; user: string }>('web.token_create', { user: 'alice', name: 'laptop' });
    assert.equal(created.user, 'alice');
    await assert.rejects(web.call('web.token_list', {}, fakeSession('alice')), /admin|not allowed|unauthori[sz]ed/i);
    assert.deepEqual((await web.call<Array<{ name: string }>>('web.token_list', { user: 'alice' })).map((t) => t.name), ['laptop']);
    await assert.rejects(web.call('web.token_revoke', { ref: 'laptop', user: 'bob' }), /no token "laptop" of user bob/);
    await web.call('web.token_revoke', { ref: created.id });
    assert.deepEqual(await web.call('web.token_list', {}), []);
    assert.ok(!JSON.stringify(web.records).includes(created.token));
    assert.deepEqual(web.records.map((r) => r.type).filter((t) => t.startsWith('web_token')), ['web_token_created', 'web_token_revoked']);
  } finally {
    await web.stop();
  }
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { z } from 'zod';
import { adminCredential } from '../../../../core/bridge/credentials.ts';
import { silentLogger } from '../../../../core/util/log.ts';
import { route } from '../../../../extensions/web/api.ts';
import { Authenticator } from '../../../../extensions/web/auth.ts';
import { BrowserSessions } from '../../../../extensions/web/browser-sessions.ts';
import { isLoopback, splitListen } from '../../../../extensions/web/extension.ts';
import { buildServer } from '../../../../extensions/web/server.ts';
import { TokenStore } from '../../../../extensions/web/token-store.ts';

describe('the web server', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-server-'));
  const tokens = new TokenStore(stateDir);
  const alice = tokens.create('alice', 'phone').token;
  const routes = [
    route({
      method: 'POST', url: '/api/echo', tag: 'test', summary: 'echo',
      body: z.strictObject({ n: z.number().int(), nested: z.object({ s: z.string() }).optional() }),
      handler: ({ body, principal }) => ({ body: { n: body.n, who: principal.kind === 'admin' ? 'admin' : principal.user } }),
    }),
  ];
  const app = await buildServer(routes, new Authenticator(adminCredential('admin-secret'), tokens, new BrowserSessions(stateDir, 3600_000)), { maxBody: 1024, rateLimit: 5, secureCookie: false, logger: silentLogger });
  after(async () => {
    await app.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  const post = (body: string, token = alice) =>
    app.inject({ method: 'POST', url: '/api/echo', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: body });

  test('the admin token and a user token are told apart; errors are JSON with a code', async () => {
    assert.deepEqual((await post('{"n":1}', 'admin-secret')).json(), { n: 1, who: 'admin' });
    assert.deepEqual((await post('{"n":2}')).json(), { n: 2, who: 'alice' });
    const wrong = await post('{"n":1}', 'admin-secre');
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, 'unauthorized');
  });

  test('a schema error names the field, nested ones by their path', async () => {
    const nested = await post('{"n":1,"nested":{"s":3}}', 'admin-secret');
    assert.equal(nested.statusCode, 400);
    assert.equal(nested.json().error.field, 'nested.s');
    const tooBig = await post(JSON.stringify({ n: 1, pad: 'x'.repeat(2000) }), 'admin-secret');
    assert.equal(tooBig.statusCode, 413);
  });

  test('the rate limit counts per credential', async () => {
    const other = tokens.create('bob', undefined).token;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await post('{"n":1}', other)).statusCode);
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.equal(statuses[6], 429);
    const limited = await post('{"n":1}', other);
    assert.equal(limited.json().error.code, 'rate_limited');
  });

  test('the OpenAPI document describes the routes from their zod schemas', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const schema = doc.paths['/api/echo'].post.requestBody.content['application/json'].schema;
    assert.equal(schema.properties.n.type, 'integer');
    assert.deepEqual(schema.required, ['n']);
    assert.deepEqual(doc.paths['/api/login'].post.security, []);
  });
});

test('listen addresses: host and port, and which hosts are loopback', () => {
  assert.deepEqual(splitListen('127.0.0.1:7878'), { host: '127.0.0.1', port: 7878 });
  assert.deepEqual(splitListen('[::1]:0'), { host: '::1', port: 0 });
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('192.168.1.2') && !isLoopback('::'));
});

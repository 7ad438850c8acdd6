import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { z } from 'zod';
import { RpcServer } from '../../../../core/bridge/rpc-server.ts';
import { RpcError, RpcErrorCode } from '../../../../core/bridge/rpc-protocol.ts';
import { Contributions } from '../../../../core/extension-host/contributions.ts';
import { createExtensionContext, type ContextDeps } from '../../../../core/extension-host/extension-context.ts';
import type { ExtensionContext } from '../../../../core/extension-host/extension-api.ts';
import type { ClaudeEngine } from '../../../../core/sessions/engine.ts';
import type { EventLog } from '../../../../core/sessions/event-log.ts';
import { SessionNotFoundError } from '../../../../core/util/errors.ts';
import { DisposableStore } from '../../../../core/util/disposable.ts';
import { silentLogger } from '../../../../core/util/log.ts';
import { TemplateRegistry } from '../../../../core/shaping/templates.ts';
import { fakeUsage } from '../../../support/fake-usage.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-calls-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Two extensions' contexts on one bridge: `jobs` registers methods, `web` calls them. */
function twoExtensions(): { jobs: ExtensionContext; web: ExtensionContext; seen: Array<{ visible: string | undefined; acting: string; actingFor: string | undefined }> } {
  const stateDir = fs.mkdtempSync(path.join(root, 'state-'));
  const deps: ContextDeps = {
    engine: {} as ClaudeEngine,
    server: new RpcServer({ socketPath: path.join(stateDir, 'd.sock'), logger: silentLogger }),
    contributions: new Contributions(),
    templates: new TemplateRegistry(),
    eventLog: { record: () => undefined } as unknown as EventLog,
    usage: fakeUsage(),
    logger: silentLogger,
    stateDir,
    timers: new Set(),
    env: () => ({}),
    configDir: () => stateDir,
  };
  const jobs = createExtensionContext(deps, 'jobs', stateDir, { config: {} }, new DisposableStore());
  const web = createExtensionContext(deps, 'web', stateDir, { config: {} }, new DisposableStore());
  const seen: Array<{ visible: string | undefined; acting: string; actingFor: string | undefined }> = [];
  jobs.addBridgeMethod('list', { params: z.object({ user: z.string().optional(), limit: z.number().int().max(10).default(5) }), access: 'any' }, (p, call) => {
    const entry = { visible: call.visibleUser(p.user), acting: call.actingUser(p.user), actingFor: call.actingFor };
    seen.push(entry);
    return entry;
  });
  jobs.addBridgeMethod('lost', { params: z.object({ id: z.string() }), access: 'admin' }, (p) => {
    throw new SessionNotFoundError(undefined, p.id);
  });
  jobs.addBridgeMethod('slow', { params: z.object({}), access: 'admin' }, (_p, call) => new Promise((resolve) => call.signal.addEventListener('abort', () => resolve('aborted'))));
  jobs.addBridgeMethod('mine', { params: z.object({}) }, () => 'a session method');
  return { jobs, web, seen };
}

test("callMethod runs another extension's method in-process as the admin: every user's things, or the named one's", async () => {
  const { web } = twoExtensions();
  assert.deepEqual(await web.callMethod('jobs.list'), { visible: undefined, acting: 'local', actingFor: undefined });
  assert.deepEqual(await web.callMethod('jobs.list', { user: 'carol' }), { visible: 'carol', acting: 'carol', actingFor: undefined });
});

test('callMethod with a user acts for that user only: the method sees that user, and naming another is refused', async () => {
  const { web, seen } = twoExtensions();
  assert.deepEqual(await web.callMethod('jobs.list', {}, { user: 'alice' }), { visible: 'alice', acting: 'alice', actingFor: 'alice' });
  assert.deepEqual(await web.callMethod('jobs.list', { user: 'alice' }, { user: 'alice' }), { visible: 'alice', acting: 'alice', actingFor: 'alice' });
  await assert.rejects(web.callMethod('jobs.list', { user: 'bob' }, { user: 'alice' }), (error: unknown) => {
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, RpcErrorCode.Unauthorized);
    assert.match(error.message, /acts for user "alice" only/);
    return true;
  });
  assert.equal(seen.length, 2, 'the refused call never reached past the acting user check');
});

test('callMethod validates params as the bridge does and gives the same typed errors', async () => {
  const { web } = twoExtensions();
  await assert.rejects(web.callMethod('jobs.list', { limit: 50 }), (error: unknown) => error instanceof RpcError && error.code === RpcErrorCode.InvalidParams && /^limit:/.test(error.message));
  await assert.rejects(web.callMethod('cron.list'), (error: unknown) => error instanceof RpcError && error.code === RpcErrorCode.MethodNotFound);
  await assert.rejects(web.callMethod('jobs.lost', { id: 's_1' }), (error: unknown) => {
    assert.ok(error instanceof RpcError);
    assert.equal(error.dataCode, 'session_not_found');
    assert.deepEqual(error.data, { code: 'session_not_found', session: 's_1' });
    return true;
  });
  await assert.rejects(web.callMethod('jobs.mine'), (error: unknown) => error instanceof RpcError && error.code === RpcErrorCode.Unauthorized && /only be called from a session/.test(error.message));
});

test("callMethod hands the caller's signal to the method", async () => {
  const { web } = twoExtensions();
  const controller = new AbortController();
  const running = web.callMethod('jobs.slow', {}, { signal: controller.signal });
  controller.abort();
  assert.equal(await running, 'aborted');
});

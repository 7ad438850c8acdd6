import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import type { Config } from '../../../../core/config/config.ts';
import { loadConfig } from '../../../../core/config/config.ts';
import { Contributions } from '../../../../core/extension-host/contributions.ts';
import { ClaudeEngine } from '../../../../core/sessions/engine.ts';
import { EventLog } from '../../../../core/sessions/event-log.ts';
import { ExtensionHost } from '../../../../core/extension-host/extension-host.ts';
import { silentLogger } from '../../../../core/util/log.ts';
import { RpcServer } from '../../../../core/bridge/rpc-server.ts';
import { TemplateRegistry } from '../../../../core/shaping/templates.ts';
import { TmuxHost } from '../../../../core/sessions/host/tmux-host.ts';
import { BUILTIN_EXTENSIONS_DIR } from '../../../../core/config/paths.ts';
import { fakeUsage } from '../../../support/fake-usage.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** Writes extensions/<name>/extension.ts files (TypeScript bodies) into a fresh directory. */
function writeExtensions(root: string, sources: Record<string, string>): string {
  const dir = path.join(root, 'exts');
  for (const [name, body] of Object.entries(sources)) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'extension.ts'), body);
  }
  return dir;
}

/** An extension that registers one of everything and logs its life to globalThis.__trace. */
const fullExtension = (name: string, extra = '') => `
import { z } from 'zod';
const trace = ((globalThis as any).__trace ??= []) as string[];
export default () => ({
  name: '${name}',
  ${extra}
  configSchema: z.object({ level: z.number().int().default(1), mode: z.enum(['a', 'b']).default('a') }),
  start(ctx: any) {
    trace.push('start ${name} ' + ctx.config.level);
    ctx.addMcpServer({ name: '${name}-mcp', command: 'true' });
    ctx.addSystemPrompt('from ${name}');
    ctx.addBridgeMethod('ping', { params: z.object({}), access: 'any' }, () => 'pong');
    ctx.onEvent(() => undefined);
    ctx.addSessionCustomizer(() => ({}));
    ctx.addPrePromptHook(() => ({}));
    ctx.addTemplate({ name: '${name}-tpl', description: 'x', visibility: 'public' });
    ctx.markSecretEnv('${name.toUpperCase()}_SECRET');
    ctx.setInterval(() => undefined, 60000);
    ctx.provideService('${name}-service', { hello: () => 'hi' });
    ctx.addRedactor({ redact: (text: string) => text });
    if (ctx.config.level === 99) throw new Error('level 99 is not allowed');
  },
  stop() { trace.push('stop ${name}'); },
});
`;

describe('the extension host', () => {
  let root: string;
  let engine: ClaudeEngine;
  let server: RpcServer;
  let contributions: Contributions;
  let templates: TemplateRegistry;
  let timers: Set<NodeJS.Timeout>;
  let host: ExtensionHost;
  const trace = (): string[] => ((globalThis as { __trace?: string[] }).__trace ??= []);

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'exthost-'));
    roots.push(root);
    trace().length = 0;
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const eventLog = new EventLog({ file: path.join(stateDir, 'events.jsonl'), maxBytes: 1e6, keep: 1 });
    engine = new ClaudeEngine({
      stateDir,
      host: new TmuxHost(path.join(stateDir, 'tmux.sock')),
      claudePath: '/nonexistent/claude',
      settings: { permissionMode: 'bypassPermissions', model: null, partialMessages: false, extraArgs: [], env: {}, interruptGraceMs: 1000, maxPerUser: 2, idleTimeoutMs: 0, maxWarm: 10, promptTimeoutMs: 0, defaultCwd: root, roots: { default: [root] } },
      logger: silentLogger,
      eventLog,
      baseEnv: {},
    });
    server = new RpcServer({ socketPath: path.join(stateDir, 'd.sock'), logger: silentLogger });
    contributions = new Contributions();
    templates = new TemplateRegistry();
    timers = new Set();
    host = new ExtensionHost({ engine, server, contributions, templates, eventLog, usage: fakeUsage(), logger: silentLogger, stateDir, timers, env: () => ({}), configDir: () => root }, path.join(root, 'builtin-none'));
  });

  const configWith = (dir: string, yaml: string): ReturnType<typeof loadConfig> => {
    const file = path.join(root, 'config.yaml');
    fs.writeFileSync(file, `state_dir: ${path.join(root, 'state')}\nextensions_dirs: [${dir}]\n${yaml}`);
    return loadConfig({ cwd: root, env: { HOME: root }, configPath: file });
  };
  const apply = (loaded: ReturnType<typeof loadConfig>, strict = false) => host.apply(loaded.config as Config, { strict, locate: loaded.locate });
  const emptyRegistries = (): void => {
    assert.deepEqual(contributions.sizes(), { mcpServers: 0, systemPrompts: 0, customizers: 0, prePromptHooks: 0, services: 0, redactors: 0, hiddenPaths: 0 });
    assert.deepEqual(server.methodNames(), []);
    assert.equal(engine.deliveryCallbackCount, 0);
    assert.equal(engine.secretEnvCount, 0);
    assert.equal(timers.size, 0);
    assert.deepEqual(templates.list({ includeHidden: true }).map((t) => t.source).filter((s) => s !== 'built-in'), []);
  };

  test('starts in dependency order, stops in reverse, and leaves every registry empty', async () => {
    const dir = writeExtensions(root, {
      alpha: fullExtension('alpha', "dependencies: ['beta'],"),
      beta: fullExtension('beta', "softDependencies: ['gamma'],"),
      gamma: fullExtension('gamma'),
    });
    const report = await apply(configWith(dir, 'enabled: [alpha, beta, gamma]\n'));
    assert.deepEqual(report.started, ['gamma', 'beta', 'alpha']);
    assert.equal(contributions.sizes().mcpServers, 3);
    assert.deepEqual(server.methodNames(), ['alpha.ping', 'beta.ping', 'gamma.ping']);
    assert.equal(await server.dispatch('beta.ping', {}), 'pong');
    assert.equal(engine.deliveryCallbackCount, 3);
    assert.equal(timers.size, 3);
    await host.stopAll();
    assert.deepEqual(trace().filter((t) => t.startsWith('stop')), ['stop alpha', 'stop beta', 'stop gamma']);
    emptyRegistries();
  });

  test('a failing start undoes exactly what that extension registered; the others run', async () => {
    const dir = writeExtensions(root, { good: fullExtension('good'), bad: fullExtension('bad') });
    const report = await apply(configWith(dir, 'enabled: [good, bad]\nextensions:\n  bad:\n    level: 99\n'));
    assert.deepEqual(report.started, ['good']);
    assert.match(report.failed.bad ?? '', /start failed: level 99 is not allowed/);
    assert.deepEqual(server.methodNames(), ['good.ping']);
    assert.equal(contributions.sizes().mcpServers, 1);
    assert.equal(contributions.findService('bad-service'), undefined);
    const status = await host.status();
    assert.deepEqual(status.map((s) => [s.name, s.state, s.health.status]), [['good', 'running', 'ok'], ['bad', 'failed', 'error']]);
    await host.stopAll();
    emptyRegistries();
  });

  test('config is validated before start; errors name the extension, the key and the line', async () => {
    const dir = writeExtensions(root, { alpha: fullExtension('alpha') });
    const report = await apply(configWith(dir, 'enabled: [alpha]\nextensions:\n  alpha:\n    level: high\n'));
    assert.deepEqual(report.started, []);
    assert.match(report.failed.alpha ?? '', /config\.yaml:6: extensions\.alpha\.level: /);
    assert.deepEqual(trace(), [], 'start was never called');
  });

  test('missing dependencies and cycles are errors that name them', async () => {
    const dir = writeExtensions(root, {
      needy: fullExtension('needy', "dependencies: ['absent'],"),
      one: fullExtension('one', "dependencies: ['two'],"),
      two: fullExtension('two', "dependencies: ['one'],"),
    });
    const missing = await apply(configWith(dir, 'enabled: [needy]\n'));
    assert.match(missing.failed.needy ?? '', /needs "absent", which is not enabled/);
    await assert.rejects(apply(configWith(dir, 'enabled: [one, two]\n'), true), /dependency cycle: (one -> two -> one|two -> one -> two)/);
    await assert.rejects(apply(configWith(dir, 'enabled: [ghost]\n'), true), /extension "ghost" is enabled but was not found/);
  });

  test('a reload with an invalid extension config changes nothing', async () => {
    const dir = writeExtensions(root, { alpha: fullExtension('alpha') });
    await apply(configWith(dir, 'enabled: [alpha]\n'));
    await assert.rejects(apply(configWith(dir, 'enabled: [alpha]\nextensions:\n  alpha:\n    mode: c\n'), true), /extensions\.alpha\.mode/);
    assert.deepEqual(trace(), ['start alpha 1']);
    assert.deepEqual(host.runningNames(), ['alpha']);
    await host.stopAll();
  });

  test('a changed config restarts an extension without reconfigure, and its dependents with it', async () => {
    const dir = writeExtensions(root, { base: fullExtension('base'), top: fullExtension('top', "dependencies: ['base'],") });
    await apply(configWith(dir, 'enabled: [base, top]\n'));
    trace().length = 0;
    const report = await apply(configWith(dir, 'enabled: [base, top]\nextensions:\n  base:\n    level: 2\n'), true);
    assert.deepEqual(report.stopped, ['top', 'base']);
    assert.deepEqual(report.started, ['base', 'top']);
    assert.deepEqual(trace(), ['stop top', 'stop base', 'start base 2', 'start top 1']);
    trace().length = 0;
    const removed = await apply(configWith(dir, 'enabled: [base]\nextensions:\n  base:\n    level: 2\n'), true);
    assert.deepEqual(removed.stopped, ['top']);
    assert.deepEqual(trace(), ['stop top']);
    await host.stopAll();
    emptyRegistries();
  });

  test('reconfigure applies a change in place', async () => {
    const dir = writeExtensions(root, {
      live: `export default { name: 'live', start() {}, reconfigure(config: { n?: number }) { ((globalThis as any).__trace ??= []).push('reconfigure ' + config.n); } };`,
    });
    await apply(configWith(dir, 'enabled: [live]\nextensions:\n  live:\n    n: 1\n'));
    const report = await apply(configWith(dir, 'enabled: [live]\nextensions:\n  live:\n    n: 2\n'), true);
    assert.deepEqual(report.reconfigured, ['live']);
    assert.deepEqual(trace(), ['reconfigure 2']);
    await host.stopAll();
  });

  test('ctx.config is the current configuration: after heartbeat.user changes by reload, access follows it', async () => {
    const builtin = new ExtensionHost(
      { engine, server, contributions, templates, eventLog: new EventLog({ file: path.join(root, 'events2.jsonl'), maxBytes: 1e6, keep: 1 }), usage: fakeUsage(), logger: silentLogger, stateDir: path.join(root, 'state'), timers, env: () => ({}), configDir: () => root },
      BUILTIN_EXTENSIONS_DIR,
    );
    const alice = engine.createSession({ user: 'alice' });
    const bob = engine.createSession({ user: 'bob' });
    const asSession = (session: { id: string; user: string }) => ({ kind: 'session' as const, sessionId: session.id, user: session.user, extension: 'heartbeat' });
    const status = (session: { id: string; user: string }) => server.dispatch('heartbeat.status', {}, { principal: asSession(session) });
    const heartbeatConfig = (user: string) => configWith(path.join(root, 'none'), `enabled: [heartbeat]\nextensions:\n  heartbeat:\n    user: ${user}\n    interval: 1h\n`);
    try {
      await builtin.apply(heartbeatConfig('alice').config as Config, { strict: false });
      assert.ok(await status(alice));
      await assert.rejects(status(bob), /only the heartbeat's own user/);
      const report = await builtin.apply(heartbeatConfig('bob').config as Config, { strict: true });
      assert.deepEqual(report.reconfigured, ['heartbeat']);
      assert.ok(await status(bob), 'the new user may use it');
      await assert.rejects(status(alice), /only the heartbeat's own user/, 'the old user no longer may');
      const served = contributions.findServer('heartbeat');
      assert.ok(served?.when?.(engine.getSession(bob.id)!), 'the new user\'s sessions get the tools');
      assert.ok(!served?.when?.(engine.getSession(alice.id)!));
    } finally {
      await builtin.stopAll();
    }
  });

  test('stopAll with a deadline: stops that never return are given up on in time, and everything is undone', async () => {
    const stuck = (name: string): string => fullExtension(name).replace(`stop() { trace.push('stop ${name}'); },`, `stop() { trace.push('stop ${name}'); return new Promise(() => undefined); },`);
    const dir = writeExtensions(root, { first: stuck('first'), second: stuck('second'), third: fullExtension('third') });
    await apply(configWith(dir, 'enabled: [first, second, third]\n'));
    const started = Date.now();
    await host.stopAll({ deadline: Date.now() + 300 });
    const took = Date.now() - started;
    assert.ok(took < 1500, `stopAll took ${took} ms`);
    assert.deepEqual(trace().filter((t) => t.startsWith('stop')).sort(), ['stop first', 'stop second', 'stop third'], 'each was told to stop');
    assert.deepEqual(host.unfinishedStops().sort(), ['first', 'second']);
    emptyRegistries();
  });

  test('a health check that hangs counts as an error', async () => {
    const dir = writeExtensions(root, {
      slow: `export default { name: 'slow', start() {}, healthCheck: () => new Promise(() => undefined) };`,
      sick: `export default { name: 'sick', start() {}, healthCheck: () => ({ status: 'degraded', reason: 'disk almost full' }) };`,
    });
    await apply(configWith(dir, 'enabled: [slow, sick]\n'));
    const status = await host.status();
    assert.deepEqual(status.find((s) => s.name === 'sick')?.health, { status: 'degraded', reason: 'disk almost full' });
    assert.match(JSON.stringify(status.find((s) => s.name === 'slow')?.health), /"error".*did not answer/);
    await host.stopAll();
  });

  test('an extension whose name differs from its directory is refused', async () => {
    const dir = writeExtensions(root, { right: `export default { name: 'wrong', start() {} };` });
    const report = await apply(configWith(dir, 'enabled: [right]\n'));
    assert.match(report.failed.right ?? '', /must be the directory's name "right"/);
  });

  test('a reload runs the new code of any changed file of the extension, not only extension.ts', async () => {
    const dir = writeExtensions(root, {
      versioned: `import { label } from './lib/label.ts';\nexport default () => ({ name: 'versioned', start() { ((globalThis as any).__trace ??= []).push('start ' + label); }, reconfigure() {} });`,
    });
    fs.mkdirSync(path.join(dir, 'versioned', 'lib'));
    const helper = path.join(dir, 'versioned', 'lib', 'label.ts');
    fs.writeFileSync(helper, "export const label = 'old';\n");
    await apply(configWith(dir, 'enabled: [versioned]\n'));
    fs.writeFileSync(helper, "export const label = 'new';\n");
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(helper, later, later);
    await apply(configWith(dir, 'enabled: [versioned]\n'), true);
    assert.deepEqual(trace(), ['start old', 'start new']);
    await host.stopAll();
  });
});

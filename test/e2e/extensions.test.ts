/**
 * Extensions end to end: an extension dropped into an extensions dir gives sessions an MCP tool that
 * the real claude CLI calls; the tool calls the daemon over the bridge. Plus bridge authentication,
 * templates removing tools, SIGHUP enabling, disabling and reconfiguring, and bridge fuzzing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUTH_METHOD } from '../../core/bridge/bridge-protocol.ts';
import { daemonPaths } from '../../core/config/paths.ts';
import { RpcClient } from '../../core/bridge/rpc-client.ts';
import { RpcError, RpcErrorCode } from '../../core/bridge/rpc-protocol.ts';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, type DaemonProcess } from '../support/daemon-process.ts';

const PROBE_EXTENSION = `
import path from 'node:path';
import { z } from 'zod';
import type { Extension } from 'claude-ext/extension';

const schema = z.object({ greeting: z.string().default('hello') });

export default (): Extension<z.output<typeof schema>> => {
  let greeting = 'unset';
  return {
    name: 'probe',
    configSchema: schema,
    start(ctx) {
      greeting = ctx.config.greeting;
      ctx.addMcpServer({ name: 'probe', script: path.join(ctx.extensionDir, 'mcp.ts'), tags: ['testing'] });
      ctx.addBridgeMethod('whoami', { params: z.object({}) }, (_params, call) => ({ session: call.session?.id, user: call.session?.user, greeting }));
    },
    reconfigure(config) {
      greeting = config.greeting;
    },
  };
};
`;

const PROBE_MCP = `
import { defineTool, runMcpServer } from 'claude-ext/mcp';

await runMcpServer({
  name: 'probe',
  tools: [
    defineTool({
      name: 'whoami',
      description: 'Tells which session and user this is, as the daemon sees it',
      input: {},
      handler: (_args, ctx) => ctx.bridge.call('probe.whoami', { session: 'someone-else' }, { idempotent: true, signal: ctx.signal }),
    }),
  ],
});
`;

const BROKEN_EXTENSION = `
export default {
  name: 'broken',
  start(ctx: any) {
    ctx.addMcpServer({ name: 'broken', command: 'true' });
    ctx.addBridgeMethod('leak', { params: { safeParse: () => ({ success: true, data: {} }) } }, () => 'should not exist');
    ctx.addSystemPrompt('should not be there');
    throw new Error('cannot reach its backend');
  },
};
`;

interface JsonEvent {
  type: string;
  tools?: string[];
  result?: { text: string; outcome: string };
  sessionId?: string;
}

function jsonLines(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JsonEvent);
}

describe('extensions, end to end', () => {
  let world: TestWorld;
  let configFile: string;
  let extDir: string;
  let daemon: DaemonProcess;

  const writeConfig = (extensions: string, enabled: string[], top = ''): void => {
    fs.writeFileSync(
      configFile,
      [
        top,
        `state_dir: ${world.stateDir}`,
        `extensions_dirs: [${extDir}]`,
        `enabled: [${enabled.join(', ')}]`,
        'sessions:',
        `  default_cwd: ${world.workDir}`,
        'templates:',
        '  locked:',
        '    description: no probe',
        '    exclude_mcp_servers: [probe]',
        '  untested:',
        '    description: nothing tagged testing',
        '    exclude_mcp_tags: [testing]',
        extensions,
        '',
      ].join('\n'),
    );
  };
  const prompt = async (args: string[]): Promise<JsonEvent[]> => {
    const run = await runCli(world, ['prompt', '--config', configFile, '--json', ...args]);
    assert.equal(run.code, 0, run.stderr);
    return jsonLines(run.stdout);
  };
  const toolsOf = (events: JsonEvent[]): string[] => events.find((e) => e.type === 'init')?.tools ?? [];
  const reload = async (): Promise<void> => {
    const run = await runCli(world, ['reload', '--config', configFile]);
    assert.equal(run.code, 0, run.stderr);
  };

  before(async () => {
    world = await createWorld('ext');
    extDir = path.join(world.root, 'my-extensions');
    for (const [name, files] of Object.entries({ probe: { 'extension.ts': PROBE_EXTENSION, 'mcp.ts': PROBE_MCP }, broken: { 'extension.ts': BROKEN_EXTENSION } })) {
      fs.mkdirSync(path.join(extDir, name), { recursive: true });
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(extDir, name, file), text);
    }
    configFile = path.join(world.root, 'config.yaml');
    writeConfig('extensions:\n  probe:\n    greeting: hello', ['probe', 'broken']);
    daemon = await startDaemonProcess(world, ['--config', configFile]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('the model calls the extension tool, the tool calls the bridge, the answer comes back', async () => {
    const events = await prompt(['--user', 'alice', '@tool mcp__probe__whoami {}\n@echo-tool']);
    assert.ok(toolsOf(events).includes('mcp__probe__whoami'), `init tools: ${toolsOf(events).join(', ')}`);
    const result = events.find((e) => e.type === 'result');
    const answer = JSON.parse(result?.result?.text ?? '{}') as { session: string; user: string; greeting: string };
    assert.equal(answer.user, 'alice');
    assert.equal(answer.greeting, 'hello');
    assert.equal(answer.session, result?.sessionId, 'the bridge knew the calling session from its token, not from params');
  });

  test('a failing start leaves nothing behind and is reported', async () => {
    const status = await runCli(world, ['status', '--config', configFile, '--json']);
    const parsed = JSON.parse(status.stdout) as { extensions: { name: string; state: string; health: { status: string; reason?: string } }[] };
    const broken = parsed.extensions.find((e) => e.name === 'broken');
    assert.equal(broken?.state, 'failed');
    assert.match(broken?.health.reason ?? '', /start failed: cannot reach its backend/);
    assert.equal(parsed.extensions.find((e) => e.name === 'probe')?.health.status, 'ok');
    const events = await prompt(['--user', 'bob', '@reply fine']);
    assert.ok(!toolsOf(events).some((t) => t.startsWith('mcp__broken')));
    const session = events.find((e) => e.type === 'result')?.sessionId ?? '';
    const mcpConfig = JSON.parse(fs.readFileSync(path.join(world.stateDir, 'sessions', session, 'mcp.json'), 'utf8')) as { mcpServers: Record<string, unknown> };
    assert.deepEqual(Object.keys(mcpConfig.mcpServers), ['probe']);
    const human = await runCli(world, ['status', '--config', configFile]);
    assert.match(human.stdout, /broken\s+error\s+start failed/);
  });

  test("a session's token cannot act for another session, and dies with its session", async () => {
    const a = (await prompt(['--user', 'carol', '--new', '--name', 'a', '@reply a'])).find((e) => e.type === 'result')?.sessionId ?? '';
    const b = (await prompt(['--user', 'carol', '--new', '--name', 'b', '@reply b'])).find((e) => e.type === 'result')?.sessionId ?? '';
    const tokenOf = (session: string): string => {
      const config = JSON.parse(fs.readFileSync(path.join(world.stateDir, 'sessions', session, 'mcp.json'), 'utf8')) as { mcpServers: { probe: { env: Record<string, string> } } };
      return config.mcpServers.probe.env.CLAUDE_EXT_BRIDGE_TOKEN ?? '';
    };
    const socket = daemonPaths(world.stateDir).socket;
    const client = await RpcClient.connect(socket);
    assert.deepEqual(await client.call(AUTH_METHOD, { token: tokenOf(a) }), { kind: 'session', sessionId: a, user: 'carol', extension: 'probe' });
    const asA = await client.call<{ session: string }>('probe.whoami', { session: b, sessionId: b });
    assert.equal(asA.session, a);
    await assert.rejects(client.call('session.list', {}), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.Unauthorized);
    await assert.rejects(client.call('prompt.submit', { user: 'carol', session: b, text: 'hijack' }), /admin credential/);
    client.close();

    const forged = await RpcClient.connect(socket);
    await assert.rejects(forged.call(AUTH_METHOD, { token: `${b}.${'A'.repeat(43)}` }), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.Unauthorized);
    await assert.rejects(forged.call('probe.whoami', {}), /authenticate first/);
    forged.close();

    const tokenA = tokenOf(a);
    const deleted = await runCli(world, ['delete', '--config', configFile, '--user', 'carol', 'a']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const late = await RpcClient.connect(socket);
    await assert.rejects(late.call(AUTH_METHOD, { token: tokenA }), /not valid/);
    late.close();
  });

  test('templates remove MCP servers by name and by tag; reviewer loses edits and the shell; unknown fails closed', async () => {
    const locked = toolsOf(await prompt(['--user', 'dave', '--new', '--template', 'locked', '@reply x']));
    assert.ok(locked.length > 0 && !locked.some((t) => t.startsWith('mcp__probe')), `locked tools: ${locked.join(', ')}`);
    const untested = toolsOf(await prompt(['--user', 'dave', '--new', '--template', 'untested', '@reply x']));
    assert.ok(!untested.some((t) => t.startsWith('mcp__probe')));
    const reviewer = toolsOf(await prompt(['--user', 'dave', '--new', '--template', 'reviewer', '@reply x']));
    assert.ok(reviewer.includes('Read'));
    for (const denied of ['Edit', 'Write', 'Bash']) assert.ok(!reviewer.includes(denied), `reviewer still has ${denied}`);
    const unknown = toolsOf(await prompt(['--user', 'erin', '--new', '--template', 'no-such-template', '@reply x']));
    assert.deepEqual(unknown, []);
  });

  test('reload applies a changed setting, disables and enables an extension; an invalid config keeps the old one', async () => {
    const ask = async (user: string): Promise<{ greeting?: string; tools: string[] }> => {
      const events = await prompt(['--user', user, '@tool mcp__probe__whoami {}\n@echo-tool']);
      const text = events.find((e) => e.type === 'result')?.result?.text ?? '';
      return { ...(text.startsWith('{') ? (JSON.parse(text) as { greeting: string }) : {}), tools: toolsOf(events) };
    };
    writeConfig('extensions:\n  probe:\n    greeting: bonjour', ['probe']);
    await reload();
    assert.equal((await ask('frank')).greeting, 'bonjour');

    writeConfig('extensions:\n  probe:\n    greeting: 42', ['probe']);
    daemon.child.kill('SIGHUP');
    await waitFor('the refused reload', () => readEventLog(world).find((e) => e.type === 'reload' && e.ok === false));
    const refused = readEventLog(world).find((e) => e.type === 'reload' && e.ok === false);
    assert.match(String(refused?.error), /config\.yaml:\d+: extensions\.probe\.greeting: /);
    assert.equal((await ask('frank')).greeting, 'bonjour', 'the running configuration stayed');

    writeConfig('', []);
    await reload();
    const without = await prompt(['--user', 'frank', '@reply plain']);
    assert.ok(!toolsOf(without).some((t) => t.startsWith('mcp__probe')), 'the next prompt runs without the disabled extension');
    const status = JSON.parse((await runCli(world, ['status', '--config', configFile, '--json'])).stdout) as { extensions: unknown[] };
    assert.deepEqual(status.extensions, []);

    writeConfig('extensions:\n  probe:\n    greeting: again', ['probe']);
    daemon.child.kill('SIGHUP');
    await waitFor('the extension to start again', () => readEventLog(world).filter((e) => e.type === 'extension_started' && e.extension === 'probe').length >= 2);
    assert.equal((await ask('frank')).greeting, 'again');
  });

  test('gateway mode collapses an extension\'s tools into one {action, params} tool', async () => {
    writeConfig('extensions:\n  probe:\n    greeting: gateway', ['probe'], 'engine:\n  gateway_mode: true');
    await reload();
    const events = await prompt(['--user', 'gina', `@tool mcp__probe__probe ${JSON.stringify({ action: 'whoami', params: {} })}\n@echo-tool`]);
    assert.ok(toolsOf(events).includes('mcp__probe__probe'));
    assert.ok(!toolsOf(events).includes('mcp__probe__whoami'));
    assert.equal((JSON.parse(events.find((e) => e.type === 'result')?.result?.text ?? '{}') as { greeting?: string }).greeting, 'gateway');
    const help = await prompt(['--user', 'gina', `@tool mcp__probe__probe ${JSON.stringify({ action: 'help' })}\n@echo-tool`]);
    assert.match(help.find((e) => e.type === 'result')?.result?.text ?? '', /whoami/);
    writeConfig('extensions:\n  probe:\n    greeting: again', ['probe']);
    await reload();
  });

  test('the bridge survives malformed, oversized and concurrent requests', async () => {
    const socket = daemonPaths(world.stateDir).socket;
    const raw = net.connect(socket);
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write('{"jsonrpc":"2.0","id":1,"method":\n');
    raw.write(`${'x'.repeat(30_000)}\n`);
    raw.write(Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
    raw.write('{"jsonrpc":"2.0","id":2,"method":"daemon.status"}\n');
    const answers = await new Promise<string>((resolve) => {
      let text = '';
      raw.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.split('\n').length > 4) resolve(text);
      });
    });
    const codes = answers
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { error?: { code: number } }).error?.code);
    assert.deepEqual(codes, [RpcErrorCode.ParseError, RpcErrorCode.ParseError, RpcErrorCode.ParseError, RpcErrorCode.Unauthorized]);
    raw.destroy();

    // 2 MB without a newline and without a credential: refused with an answer, the connection closed.
    const junk = net.connect(socket);
    await new Promise((resolve) => junk.once('connect', resolve));
    junk.on('error', () => undefined);
    const refused = new Promise<string>((resolve) => {
      let text = '';
      junk.on('data', (chunk: Buffer) => (text += chunk.toString()));
      junk.on('close', () => resolve(text));
    });
    junk.write(`${'x'.repeat(2 * 1024 * 1024)}`);
    // The answer comes before the close; a reset of the unread rest may drop it on this side.
    const said = await refused;
    assert.ok(said === '' || /line_too_long/.test(said), said);

    const token = fs.readFileSync(path.join(world.stateDir, 'admin.token'), 'utf8').trim();
    const clients = await Promise.all(Array.from({ length: 8 }, () => RpcClient.connect(socket)));
    await Promise.all(clients.map((c) => c.call(AUTH_METHOD, { token })));
    const calls = clients.flatMap((c) => Array.from({ length: 25 }, () => c.call<{ pid: number }>('daemon.status', {})));
    const results = await Promise.all(calls);
    assert.equal(results.length, 200);
    assert.ok(results.every((r) => r.pid === daemon.child.pid));
    const half = clients.slice(0, 4);
    for (const c of half) {
      void c.call('prompt.wait', { session: 'nope' }).catch(() => undefined);
      c.close();
    }
    assert.equal((await clients[5]!.call<{ pid: number }>('daemon.status', {})).pid, daemon.child.pid);
    for (const c of clients) c.close();
  });
});

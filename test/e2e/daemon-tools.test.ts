/**
 * Extension tools served by the daemon, end to end with the real claude CLI: ready on the very first
 * turn of sessions made in a burst, no process per session, token scope per extension, and tools
 * reached again after the daemon is killed and started while the session's CLI keeps running.
 * Also a slow stdio server of a dropped-in extension, which the first turn waits for.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectAsAdmin } from '../../core/bridge/admin-client.ts';
import { AUTH_METHOD } from '../../core/bridge/bridge-protocol.ts';
import { daemonPaths } from '../../core/config/paths.ts';
import { RpcClient } from '../../core/bridge/rpc-client.ts';
import { RpcError, RpcErrorCode } from '../../core/bridge/rpc-protocol.ts';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.ts';
import { tmuxPaneProcesses } from '../support/processes.ts';

const TOKEN = '123456:daemon-tools-test-token';
const SESSIONS = 20;

const SLOW_EXTENSION = `
import path from 'node:path';
import { z } from 'zod';
import type { Extension } from 'claude-ext/extension';

export default {
  name: 'slowpoke',
  start(ctx) {
    ctx.addMcpServer({ name: 'slowpoke', script: path.join(ctx.extensionDir, 'server.ts'), when: (session) => session.user === 'sam' });
    ctx.addBridgeMethod('hello', { params: z.object({}) }, (_params, call) => \`hello from \${call.session?.user}\`);
  },
} satisfies Extension;
`;

/** A stdio server that takes 6 s to start: longer than the CLI's own 5 s wait for MCP servers. */
const SLOW_SERVER = `
import { defineTool, runMcpServer } from 'claude-ext/mcp';

await new Promise((resolve) => setTimeout(resolve, 6000));
await runMcpServer({
  name: 'slowpoke',
  tools: [defineTool({ name: 'hello', description: 'Greets', input: {}, handler: (_args, ctx) => ctx.bridge.call('slowpoke.hello', {}, { signal: ctx.signal }) })],
});
`;

/** A tool that waits until the CLI cancels it, and leaves a mark of each step in its data dir. */
const WAITER_EXTENSION = `
import fs from 'node:fs';
import path from 'node:path';
import { defineTool } from 'claude-ext/mcp';
import type { Extension } from 'claude-ext/extension';

export default {
  name: 'waiter',
  start(ctx) {
    const mark = (what: string) => fs.writeFileSync(path.join(ctx.dataDir, what), new Date().toISOString());
    ctx.addTools({
      server: 'waiter',
      when: (session) => session.user === 'walt',
      tools: [
        defineTool({
          name: 'wait',
          description: 'Waits until cancelled',
          input: {},
          handler: (_args, tool) =>
            new Promise<string>((resolve) => {
              mark('started');
              tool.signal.addEventListener('abort', () => {
                mark('aborted');
                resolve('aborted');
              });
            }),
        }),
      ],
    });
  },
} satisfies Extension;
`;

interface McpConfig {
  mcpServers: Record<string, { type: string; url?: string; headers?: Record<string, string>; env?: Record<string, string> }>;
}

interface Result {
  sessionId: string;
  result?: { text: string; outcome: string };
}

describe('tools served by the daemon', () => {
  let world: TestWorld;
  let telegram: FakeTelegram;
  let config: string;
  let daemon: DaemonProcess;

  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const detach = async (args: string[], prompt: string): Promise<{ sessionId: string; promptId: string }> => {
    const run = await cli(['prompt', '--detach', ...args, prompt]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as { sessionId: string; promptId: string };
  };
  const resultOf = async (ids: { sessionId: string; promptId: string }): Promise<Result> => {
    // `wait` exits 1 for a turn that did not succeed; the outcome is in the JSON either way.
    const run = await cli(['wait', '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    assert.ok(run.stdout.trim(), run.stderr);
    return JSON.parse(run.stdout) as Result;
  };
  const mcpConfigOf = (sessionId: string): McpConfig => JSON.parse(fs.readFileSync(path.join(world.stateDir, 'sessions', sessionId, 'mcp.json'), 'utf8')) as McpConfig;
  const bearer = (sessionId: string, server: string): string => (mcpConfigOf(sessionId).mcpServers[server]?.headers?.Authorization ?? '').replace(/^Bearer /, '');
  const endpoint = (sessionId: string, server: string): string => {
    const any = Object.values(mcpConfigOf(sessionId).mcpServers).find((entry) => entry.type === 'http');
    return `${new URL(any?.url ?? '').origin}/mcp/${server}`;
  };
  const mcpPost = (url: string, token: string, message: object) =>
    fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...message }),
    });
  const initServers = (sessionId: string): string => {
    const stream = fs.readFileSync(path.join(world.stateDir, 'sessions', sessionId, 'stream.jsonl'), 'utf8');
    const init = stream.split('\n').find((line) => line.includes('"subtype":"init"'));
    return JSON.stringify((JSON.parse(init ?? '{}') as { mcp_servers?: unknown }).mcp_servers ?? null);
  };
  const launches = (sessionId: string): number => readEventLog(world).filter((e) => e.type === 'process_launched' && e.session === sessionId).length;

  before(async () => {
    world = await createWorld('daemon-tools');
    telegram = await startFakeTelegram({ token: TOKEN });
    const extensionsDir = path.join(world.root, 'extensions');
    fs.mkdirSync(path.join(extensionsDir, 'slowpoke'), { recursive: true });
    fs.writeFileSync(path.join(extensionsDir, 'slowpoke', 'extension.ts'), SLOW_EXTENSION);
    fs.writeFileSync(path.join(extensionsDir, 'slowpoke', 'server.ts'), SLOW_SERVER);
    fs.mkdirSync(path.join(extensionsDir, 'waiter'), { recursive: true });
    fs.writeFileSync(path.join(extensionsDir, 'waiter', 'extension.ts'), WAITER_EXTENSION);
    config = writeConfig(
      world,
      [
        '  max_per_user: 30',
        `extensions_dirs: [${extensionsDir}]`,
        'enabled: [vault, ask_user, cron, heartbeat, telegram, slowpoke, waiter]',
        'templates:',
        '  sealed:',
        '    description: no credentials at all',
        '    exclude_mcp_tags: [credentials]',
        '    disallowed_tools: [mcp__vault__vault_run]',
        '  norun:',
        '    description: the vault without vault_run',
        '    disallowed_tools: [mcp__vault__vault_run]',
        'extensions:',
        '  heartbeat:',
        '    interval: 1h',
        '  telegram:',
        '    token: ${TELEGRAM_BOT_TOKEN}',
        '    allowed_users: [1]',
        `    api_root: ${telegram.apiRoot}`,
        '',
      ].join('\n'),
    );
    world.env.TELEGRAM_BOT_TOKEN = TOKEN;
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await telegram.close();
    await world.cleanup();
  });

  test(`${SESSIONS} sessions made at once each call a tool on their first turn, and no session has an MCP process of its own`, async () => {
    const calls = ['mcp__cron__cron_list {}', 'mcp__vault__vault_list {}', 'mcp__heartbeat__heartbeat_status {}', 'mcp__ask_user__ask_user {"question":"quick?","timeout":1}'];
    const expected = [/^\[\]$/, /^\[\]$/, /"instructionsAreDefault"/, /no answer/];
    // Submitted back to back on one connection, as a frontend would: the test measures the daemon and
    // the sessions, not twenty CLI processes starting at once.
    const client = await connectAsAdmin(world.stateDir);
    let results: Result[];
    try {
      const started = await Promise.all(
        Array.from({ length: SESSIONS }, (_, i) => client.call<{ sessionId: string; promptId: string }>('prompt.submit', { user: 'local', new: true, name: `burst-${i}`, text: `@tool ${calls[i % calls.length]}\n@echo-tool` })),
      );
      results = await Promise.all(
        started.map(async (ids) => (await client.call<{ prompt: Result }>('prompt.wait', { session: ids.sessionId, prompt: ids.promptId })).prompt),
      );
    } finally {
      client.close();
    }
    const failures = results
      .map((r, i) => ({ i, text: r.result?.text ?? '(no result)', servers: initServers(r.sessionId) }))
      .filter(({ i, text }) => !(expected[i % expected.length] as RegExp).test(text));
    const log = fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8').split('\n').filter((line) => /mcp|MCP|error|warn/.test(line)).slice(-30).join('\n');
    assert.deepEqual(failures, [], `${SESSIONS - failures.length} of ${SESSIONS} got their tool's result\n${log}`);

    const census = tmuxPaneProcesses(daemonPaths(world.stateDir).tmuxSocket);
    assert.ok(census.length >= SESSIONS, `every session has its claude process (${census.length} processes)`);
    const servers = census.filter((p) => /register-hooks|node .*extensions\//.test(p.cmdline));
    assert.deepEqual(servers, [], 'no MCP server process for a bundled extension');
    const claudes = census.filter((p) => /claude/.test(p.comm) || /claude/.test(p.cmdline.split(' ')[0] ?? ''));
    const perSession = census.length / claudes.length;
    // In the sandbox, bubblewrap adds its own two small processes (the namespace's parent and its init).
    const sandboxed = census.some((p) => p.comm === 'bwrap');
    assert.ok(perSession <= (sandboxed ? 5 : 3), `a session is its claude, its input feeder, a shell${sandboxed ? ' and bubblewrap' : ''} at most (${perSession.toFixed(1)} processes each)`);
  });

  test('a slow stdio server of a dropped-in extension is ready for the first turn', async () => {
    const result = await resultOf(await detach(['--new', '--user', 'sam'], '@tool mcp__slowpoke__hello {}\n@echo-tool'));
    assert.equal(result.result?.text, 'hello from sam');
  });

  test("a token reaches only its own extension's tools and methods, for its own session, while it exists", async () => {
    const sealed = await resultOf(await detach(['--new', '--template', 'sealed', '--user', 'mallory'], '@tool mcp__cron__cron_list {}\n@echo-tool'));
    const sealedId = sealed.sessionId;
    assert.deepEqual(Object.keys(mcpConfigOf(sealedId).mcpServers).sort(), ['ask_user', 'cron'], 'no vault endpoint or token (and the heartbeat is not hers)');
    const cronToken = bearer(sealedId, 'cron');
    const vaultUrl = endpoint(sealedId, 'vault');
    const refused = await mcpPost(vaultUrl, cronToken, { method: 'tools/call', params: { name: 'vault_run', arguments: { command: 'echo leaked' } } });
    assert.equal(refused.status, 403);

    // Every credential the session holds, tried on the bridge socket against vault.run.
    const samSession = (await cli(['sessions', '--user', 'sam', '--json'])).stdout;
    const samId = (JSON.parse(samSession) as Array<{ id: string }>)[0]?.id ?? '';
    const held = [
      ...Object.values(mcpConfigOf(sealedId).mcpServers).map((entry) => (entry.headers?.Authorization ?? '').replace(/^Bearer /, '')),
      // and a bridge token of another extension's stdio server, as one would find it in a process environment
      mcpConfigOf(samId).mcpServers.slowpoke?.env?.CLAUDE_EXT_BRIDGE_TOKEN ?? '',
    ].filter(Boolean);
    assert.equal(held.length, 3);
    for (const token of held) {
      const client = await RpcClient.connect(daemonPaths(world.stateDir).socket);
      try {
        const error = await client.call(AUTH_METHOD, { token }).then(
          () => client.call('vault.run', { command: 'echo leaked', env: {} }),
        ).then(
          () => assert.fail('vault.run ran with a token of another extension'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof RpcError && error.code === RpcErrorCode.Unauthorized, String(error));
      } finally {
        client.close();
      }
    }

    // A template that only disallows vault_run keeps the vault, but not that tool, even by hand.
    const norun = await resultOf(await detach(['--new', '--template', 'norun', '--user', 'mallory'], '@reply ok'));
    const vaultToken = bearer(norun.sessionId, 'vault');
    const direct = await mcpPost(endpoint(norun.sessionId, 'vault'), vaultToken, { method: 'tools/call', params: { name: 'vault_run', arguments: { command: 'echo leaked' } } });
    const body = await direct.text();
    assert.ok(!body.includes('leaked'), body);
    assert.match(body, /vault_run not found/);

    // The session id inside a token cannot be changed to another session's.
    const other = await resultOf(await detach(['--new', '--user', 'victim'], '@reply hi'));
    const forged = cronToken.replace(sealedId, other.sessionId);
    assert.equal((await mcpPost(endpoint(sealedId, 'cron'), forged, { method: 'tools/list' })).status, 401);

    // Deleting the session ends its tokens at once.
    const cronUrl = endpoint(sealedId, 'cron');
    assert.equal((await mcpPost(cronUrl, cronToken, { method: 'tools/list' })).status, 200);
    assert.equal((await cli(['delete', sealedId, '--user', 'mallory'])).code, 0);
    const gone = await mcpPost(cronUrl, cronToken, { method: 'tools/list' });
    assert.equal(gone.status, 401);
    assert.match(await gone.text(), /no longer exists/);
  });

  test("stopping a turn cancels its tool call: the handler's AbortSignal fires in the daemon", async () => {
    const marks = path.join(world.stateDir, 'data', 'waiter');
    const ids = await detach(['--new', '--user', 'walt'], '@tool mcp__waiter__wait {}\n@echo-tool');
    await waitFor('the tool to start', () => fs.existsSync(path.join(marks, 'started')));
    assert.equal(fs.existsSync(path.join(marks, 'aborted')), false);
    assert.equal((await cli(['stop', ids.sessionId, '--user', 'walt'])).code, 0);
    await waitFor("the handler's signal", () => fs.existsSync(path.join(marks, 'aborted')));
    assert.equal((await resultOf(ids)).result?.outcome, 'stopped');
  });

  test('after the daemon is killed and started again, the running CLI reaches its tools on its next turn', async () => {
    const first = await resultOf(await detach(['--new', '--name', 'survivor', '--user', 'rita'], '@tool mcp__cron__cron_list {}\n@echo-tool'));
    assert.equal(first.result?.text, '[]');
    const launched = launches(first.sessionId);
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const next = await resultOf(await detach(['--session', first.sessionId, '--user', 'rita'], '@tool mcp__cron__cron_create {"name":"after-restart","prompt":"hi","run_at":"+2h"}\n@echo-tool'));
    assert.match(next.result?.text ?? '', /after-restart/);
    assert.equal(launches(first.sessionId), launched, 'the same claude process answered: it was not relaunched');
    const list = await cli(['cron', 'list', '--user', 'rita', '--json']);
    assert.match(list.stdout, /after-restart/);
  });

  test('when the old port is taken at the next start, the session is relaunched with the new one and resumes', async () => {
    const first = await resultOf(await detach(['--new', '--user', 'paul'], '@reply remember the word heron'));
    const launched = launches(first.sessionId);
    const port = Number(fs.readFileSync(path.join(world.stateDir, 'mcp.port'), 'utf8'));
    await daemon.kill();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      daemon = await startDaemonProcess(world, ['--config', config]);
      assert.notEqual(Number(fs.readFileSync(path.join(world.stateDir, 'mcp.port'), 'utf8')), port);
      const next = await resultOf(await detach(['--session', first.sessionId, '--user', 'paul'], '@tool mcp__cron__cron_list {}\n@echo'));
      assert.equal(launches(first.sessionId), launched + 1, 'relaunched once, with the new address');
      assert.match(next.result?.text ?? '', /remember the word heron/, 'the conversation was resumed');
    } finally {
      squatter.close();
    }
  });
});

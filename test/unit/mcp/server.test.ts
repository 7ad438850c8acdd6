import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { BRIDGE_ENV } from '../../../core/bridge/bridge-protocol.ts';
import { silentLogger } from '../../../core/util/log.ts';
import { RpcError } from '../../../core/bridge/rpc-protocol.ts';
import { RpcServer } from '../../../core/bridge/rpc-server.ts';
import { BridgeClient, createMcpServer, defineTool, type McpServerOptions, type Tool } from '../../../mcp/index.ts';

const echo = defineTool({
  name: 'echo',
  description: 'Repeats the text',
  input: { text: z.string().describe('What to repeat') },
  handler: ({ text }) => text,
});

const sum = defineTool({
  name: 'sum',
  description: 'Adds two numbers',
  input: z.object({ a: z.number(), b: z.number().default(0) }),
  handler: ({ a, b }) => ({ total: a + b }),
});

const locked = defineTool({
  name: 'locked',
  description: 'Always fails as the daemon would',
  input: {},
  handler: () => {
    throw new RpcError(-32050, 'the vault is locked; unlock it first');
  },
});

const whoami = defineTool({
  name: 'whoami',
  description: "Answers the session's ids",
  input: {},
  handler: (_args, ctx) => `${ctx.userId}/${ctx.sessionId}`,
});

const ping = defineTool({
  name: 'ping',
  description: 'Asks the daemon',
  input: { note: z.string() },
  handler: async ({ note }, ctx) => ctx.bridge.call<string>('ping', { note }, { signal: ctx.signal }),
});

const TOOLS: readonly Tool[] = [echo, sum, locked, whoami, ping];

interface Connected {
  readonly client: Client;
  close(): Promise<void>;
}

async function connect(options: Partial<McpServerOptions> = {}): Promise<Connected> {
  const server = createMcpServer({ name: 'vault', tools: TOOLS, env: {}, ...options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content[0];
  assert.equal(result.content.length, 1);
  assert.ok(first && first.type === 'text', 'a tool answers one text block');
  return { text: first.text, isError: result.isError === true };
}

describe('an MCP server with one tool per command', () => {
  let connected: Connected;
  before(async () => {
    connected = await connect();
  });
  after(() => connected.close());

  test('lists the tools with their descriptions and input schemas', async () => {
    const { tools } = await connected.client.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ['echo', 'sum', 'locked', 'whoami', 'ping'],
    );
    const echoTool = tools.find((tool) => tool.name === 'echo');
    assert.equal(echoTool?.description, 'Repeats the text');
    assert.deepEqual(echoTool?.inputSchema.properties, { text: { type: 'string', description: 'What to repeat' } });
    assert.deepEqual(echoTool?.inputSchema.required, ['text']);
    const sumTool = tools.find((tool) => tool.name === 'sum');
    assert.deepEqual(sumTool?.inputSchema.required, ['a']);
  });

  test('a string answer is text and an object answer is JSON text', async () => {
    assert.deepEqual(await call(connected.client, 'echo', { text: 'hello' }), { text: 'hello', isError: false });
    const { text, isError } = await call(connected.client, 'sum', { a: 2, b: 3 });
    assert.equal(isError, false);
    assert.deepEqual(JSON.parse(text), { total: 5 });
  });

  test('a thrown error becomes an error result with its message, and the server keeps serving', async () => {
    assert.deepEqual(await call(connected.client, 'locked'), { text: 'the vault is locked; unlock it first', isError: true });
    assert.deepEqual(await call(connected.client, 'echo', { text: 'still here' }), { text: 'still here', isError: false });
  });

  test('invalid arguments are refused by the schema', async () => {
    const { text, isError } = await call(connected.client, 'sum', { a: 'two' });
    assert.equal(isError, true);
    assert.match(text, /sum/);
    assert.match(text, /a/);
  });

  test('outside a session, reading the session ids or the bridge fails the call clearly', async () => {
    assert.deepEqual(await call(connected.client, 'whoami'), {
      text: `${BRIDGE_ENV.userId} is not set: this MCP server must be started by the claude-ext daemon for a session, which sets these variables`,
      isError: true,
    });
    const { text, isError } = await call(connected.client, 'ping', { note: 'x' });
    assert.equal(isError, true);
    assert.match(text, new RegExp(`^${BRIDGE_ENV.socket} and ${BRIDGE_ENV.token} are not set`));
  });
});

describe('tools that use the session and the bridge', () => {
  let dir: string;
  let daemon: RpcServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-server-'));
    const socketPath = path.join(dir, 'bridge.sock');
    daemon = new RpcServer({
      socketPath,
      logger: silentLogger,
      authenticate: (token) => (token === 'tok' ? { kind: 'session', sessionId: 's-9', user: 'bob', extension: 'probe' } : undefined),
    });
    daemon.register(
      'ping',
      (params, ctx) => {
        const note = (params as { note: string }).note;
        if (note === 'missing') throw new RpcError(-32050, 'no note named "missing"');
        return ctx.principal?.kind === 'session' ? `pong ${note} for ${ctx.principal.sessionId}` : 'pong';
      },
      { access: 'session' },
    );
    await daemon.listen();
    env = { [BRIDGE_ENV.socket]: socketPath, [BRIDGE_ENV.token]: 'tok', [BRIDGE_ENV.sessionId]: 's-9', [BRIDGE_ENV.userId]: 'bob' };
  });
  after(async () => {
    await daemon.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the context carries the session ids and a bridge client made from the environment', async () => {
    const connected = await connect({ env });
    try {
      assert.deepEqual(await call(connected.client, 'whoami'), { text: 'bob/s-9', isError: false });
      assert.deepEqual(await call(connected.client, 'ping', { note: 'a' }), { text: 'pong a for s-9', isError: false });
      assert.deepEqual(await call(connected.client, 'ping', { note: 'missing' }), { text: 'no note named "missing"', isError: true });
    } finally {
      await connected.close();
    }
  });

  test('closing the server closes the bridge client it made, and one that was never used is never made', async () => {
    const made: BridgeClient[] = [];
    const bridge = (): BridgeClient => {
      const client = BridgeClient.fromEnv(env);
      made.push(client);
      return client;
    };
    const unused = await connect({ env, bridge });
    await call(unused.client, 'echo', { text: 'no bridge needed' });
    await unused.close();
    assert.equal(made.length, 0);

    const used = await connect({ env, bridge });
    await call(used.client, 'ping', { note: 'b' });
    await call(used.client, 'ping', { note: 'c' });
    assert.equal(made.length, 1, 'one bridge client per server');
    assert.equal(made[0]?.closed, false);
    await used.close();
    assert.equal(made[0]?.closed, true);
  });

  test('runMcpServer serves over stdio as the daemon launches it, and exits by itself when stdin closes', async () => {
    const serverFile = path.join(dir, 'server.ts');
    const exitMarker = path.join(dir, 'exited');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.writeFileSync(
      serverFile,
      [
        `import fs from 'node:fs';`,
        `import { defineTool, runMcpServer } from ${JSON.stringify(new URL('../../../mcp/index.ts', import.meta.url).href)};`,
        `process.on('exit', () => fs.writeFileSync(${JSON.stringify(exitMarker)}, 'clean'));`,
        `const ping = defineTool({ name: 'ping', description: 'Asks the daemon', input: {}, handler: (_args, ctx) => ctx.bridge.call('ping', { note: 'stdio' }) });`,
        `await runMcpServer({ name: 'vault', tools: [ping] });`,
      ].join('\n'),
    );
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), serverFile],
      env: { ...env, PATH: process.env.PATH ?? '' },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    assert.deepEqual(await call(client, 'ping'), { text: 'pong stdio for s-9', isError: false });
    const closing = Date.now();
    await client.close();
    assert.ok(Date.now() - closing < 1500, 'the server exited without being killed');
    assert.equal(fs.readFileSync(exitMarker, 'utf8'), 'clean');
  });
});

describe('an MCP server in gateway mode', () => {
  let connected: Connected;
  before(async () => {
    connected = await connect({ env: { [BRIDGE_ENV.gateway]: '1' } });
  });
  after(() => connected.close());

  test('lists one tool named after the server, taking an action and params', async () => {
    const { tools } = await connected.client.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ['vault'],
    );
    const [gateway] = tools;
    assert.deepEqual(Object.keys(gateway?.inputSchema.properties ?? {}).sort(), ['action', 'params']);
    assert.deepEqual(gateway?.inputSchema.required, ['action']);
    assert.match(gateway?.description ?? '', /echo, sum, locked, whoami, ping/);
  });

  test('help lists every command with its description and parameter schema', async () => {
    const { text, isError } = await call(connected.client, 'vault', { action: 'help' });
    assert.equal(isError, false);
    const help = JSON.parse(text) as { commands: { action: string; description: string; params: { properties?: Record<string, unknown>; required?: string[] } }[] };
    assert.deepEqual(
      help.commands.map((command) => command.action),
      ['echo', 'sum', 'locked', 'whoami', 'ping'],
    );
    const echoHelp = help.commands[0];
    assert.equal(echoHelp?.description, 'Repeats the text');
    assert.deepEqual(echoHelp?.params.properties, { text: { type: 'string', description: 'What to repeat' } });
    assert.deepEqual(echoHelp?.params.required, ['text']);
    assert.deepEqual(help.commands[1]?.params.required, ['a'], 'a field with a default is optional for the caller');
  });

  test('runs a command with validated params', async () => {
    assert.deepEqual(await call(connected.client, 'vault', { action: 'echo', params: { text: 'via gateway' } }), { text: 'via gateway', isError: false });
    const { text } = await call(connected.client, 'vault', { action: 'sum', params: { a: 4 } });
    assert.deepEqual(JSON.parse(text), { total: 4 });
    assert.deepEqual(await call(connected.client, 'vault', { action: 'locked' }), { text: 'the vault is locked; unlock it first', isError: true });
  });

  test('an unknown action names the valid ones', async () => {
    assert.deepEqual(await call(connected.client, 'vault', { action: 'delete' }), {
      text: 'vault: unknown action "delete"; valid actions: help, echo, sum, locked, whoami, ping',
      isError: true,
    });
  });

  test('invalid params say which field is wrong', async () => {
    const { text, isError } = await call(connected.client, 'vault', { action: 'sum', params: { a: 'four' } });
    assert.equal(isError, true);
    assert.match(text, /^vault sum: invalid params: a: .*expected number/i);
    const missing = await call(connected.client, 'vault', { action: 'echo' });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /^vault echo: invalid params: text: /);
  });
});

describe('createMcpServer', () => {
  test('the gateway option overrides the environment', async () => {
    const connected = await connect({ gateway: false, env: { [BRIDGE_ENV.gateway]: '1' } });
    try {
      const { tools } = await connected.client.listTools();
      assert.equal(tools.length, TOOLS.length);
    } finally {
      await connected.close();
    }
  });

  test('refuses two tools with one name, and a command named help in gateway mode', () => {
    assert.throws(() => createMcpServer({ name: 'vault', tools: [echo, echo], env: {} }), /vault: two tools are named "echo"/);
    const help = defineTool({ name: 'help', description: 'mine', input: {}, handler: () => 'mine' });
    assert.doesNotThrow(() => createMcpServer({ name: 'vault', tools: [help], env: {} }));
    assert.throws(() => createMcpServer({ name: 'vault', tools: [help], env: {}, gateway: true }), /no command may be named "help"/);
  });

  test('refuses a tool name the CLI cannot address', () => {
    assert.throws(() => defineTool({ name: 'has space', description: '', input: {}, handler: () => '' }), /invalid tool name "has space"/);
  });
});

/**
 * The daemon's MCP endpoint, driven by the MCP SDK's own HTTP client: tools of a session served
 * in-process with its grants, token scope, protocol errors, cancellation and resuming after a restart.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { Contributions } from '../../../../core/extension-host/contributions.ts';
import { SessionTokens, type SessionGrant } from '../../../../core/bridge/credentials.ts';
import { silentLogger } from '../../../../core/util/log.ts';
import { CallJournal } from '../../../../core/mcp-endpoint/call-journal.ts';
import { MAX_REQUEST_BYTES, McpEndpoint } from '../../../../core/mcp-endpoint/endpoint.ts';
import { ToolGrants } from '../../../../core/mcp-endpoint/tool-grants.ts';
import { RpcServer } from '../../../../core/bridge/rpc-server.ts';
import type { SessionSummary } from '../../../../core/sessions/session-types.ts';
import { defineTool } from '../../../../mcp/index.ts';

const ALICE = { id: 's_alice', user: 'alice' } as SessionSummary;
const BOB = { id: 's_bob', user: 'bob' } as SessionSummary;

describe('MCP endpoint', () => {
  let dir: string;
  let endpoint: McpEndpoint;
  let tokens: SessionTokens;
  let grants: ToolGrants;
  let journal: CallJournal;
  let rpc: RpcServer;
  const sessions = new Map<string, SessionSummary>();
  const contributions = new Contributions();
  const seen: { aborted: string[]; calls: string[]; started: string[] } = { aborted: [], calls: [], started: [] };
  let releaseSlow: () => void = () => undefined;
  let releaseHold: () => void = () => undefined;

  const token = (grant: Partial<SessionGrant> = {}): string => tokens.issue({ sessionId: ALICE.id, extension: 'notes', channel: 'mcp', ...grant });
  const connect = async (server: string, bearer: string, query = ''): Promise<Client> => {
    const client = new Client({ name: 'test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${endpoint.url}/mcp/${server}${query}`), { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } });
    await client.connect(transport);
    return client;
  };
  const post = (server: string, bearer: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${endpoint.url}/mcp/${server}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
      body,
    });
  const text = (result: unknown): string => ((result as CallToolResult).content[0] as { text: string }).text;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-endpoint-'));
    tokens = new SessionTokens(dir);
    const sessionDir = (id: string): string => path.join(dir, 'sessions', id);
    grants = new ToolGrants(sessionDir);
    journal = new CallJournal(path.join(dir, 'sessions'));
    rpc = new RpcServer({ socketPath: path.join(dir, 'unused.sock'), logger: silentLogger });
    rpc.register('notes.add', (params, ctx) => {
      seen.calls.push(`${JSON.stringify(params)} as ${JSON.stringify(ctx.principal)}`);
      return { added: true };
    }, { access: 'session', owner: 'notes' });
    rpc.register('vault.run', () => 'secret output', { access: 'any', owner: 'vault' });
    contributions.addTools('notes', {
      server: 'notes',
      tools: [
        defineTool({ name: 'note_add', description: 'Adds a note', input: { text: z.string() }, annotations: { destructiveHint: false }, handler: (args, ctx) => ctx.bridge.call('notes.add', args, { signal: ctx.signal }) }),
        defineTool({ name: 'note_list', description: 'Lists notes', input: {}, annotations: { readOnlyHint: true }, handler: (_args, ctx) => `${ctx.userId}/${ctx.sessionId}/${ctx.callId}` }),
        defineTool({ name: 'note_purge', description: 'Deletes every note', input: {}, annotations: { destructiveHint: true }, handler: () => 'purged' }),
        defineTool({ name: 'steal', description: 'Calls another extension', input: {}, handler: (_args, ctx) => ctx.bridge.call('vault.run', { command: 'env' }) }),
        defineTool({ name: 'explode', description: 'Throws', input: {}, handler: () => { throw new Error('the handler broke'); } }),
        defineTool({
          name: 'hold',
          description: 'Waits until released; may not run twice',
          input: { secret: z.string() },
          handler: () => new Promise<string>((resolve) => (releaseHold = () => resolve('held'))),
        }),
        defineTool({
          name: 'slow',
          description: 'Waits until released or cancelled',
          input: {},
          annotations: { idempotentHint: true },
          handler: (_args, ctx) =>
            new Promise<string>((resolve) => {
              seen.started.push(ctx.callId);
              releaseSlow = () => resolve(`released ${ctx.callId}`);
              ctx.signal.addEventListener('abort', () => {
                seen.aborted.push(ctx.callId);
                resolve('aborted');
              });
            }),
        }),
      ],
    });
    contributions.addTools('vault', { server: 'vault', tools: [defineTool({ name: 'vault_run', description: 'Runs', input: {}, handler: () => 'ran' })] });
    endpoint = new McpEndpoint({
      logger: silentLogger,
      tokens,
      grants,
      journal,
      server: (name) => contributions.findServer(name),
      session: (id) => sessions.get(id),
      dispatch: (method, params, call) => rpc.dispatch(method, params, call),
      stateDir: dir,
      ready: Promise.resolve(),
    });
    await endpoint.listen({ host: '127.0.0.1', port: 0 }, path.join(dir, 'mcp.port'));
  });
  beforeEach(() => {
    sessions.set(ALICE.id, ALICE);
    sessions.set(BOB.id, BOB);
    for (const session of [ALICE, BOB]) fs.mkdirSync(path.join(dir, 'sessions', session.id), { recursive: true });
    grants.record(ALICE.id, { notes: { owner: 'notes', denied: ['note_purge'] } });
    grants.record(BOB.id, { notes: { owner: 'notes', denied: [] }, vault: { owner: 'vault', denied: [] } });
    seen.aborted.length = 0;
    seen.calls.length = 0;
    seen.started.length = 0;
  });
  after(async () => {
    await endpoint.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('lists the tools granted to the session with their annotations, and runs them as that session', async () => {
    const client = await connect('notes', token());
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['explode', 'hold', 'note_add', 'note_list', 'slow', 'steal']);
    assert.deepEqual(tools.find((t) => t.name === 'note_list')?.annotations, { readOnlyHint: true });
    assert.match(text(await client.callTool({ name: 'note_list', arguments: {} })), /^alice\/s_alice\/c_/);
    await client.callTool({ name: 'note_add', arguments: { text: 'milk' } });
    assert.deepEqual(seen.calls, ['{"text":"milk"} as {"kind":"session","sessionId":"s_alice","user":"alice","extension":"notes"}']);
    await client.close();
  });

  test('a tool the overrides disallow is neither listed nor callable, even by a hand-made request', async () => {
    const client = await connect('notes', token());
    const result = (await client.callTool({ name: 'note_purge', arguments: {} })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(text(result), /note_purge not found/);
    await client.close();
  });

  test("a tool cannot reach another extension's bridge methods, and a throwing handler is a tool error", async () => {
    const client = await connect('notes', token());
    const stolen = (await client.callTool({ name: 'steal', arguments: {} })) as CallToolResult;
    assert.equal(stolen.isError, true);
    assert.match(text(stolen), /vault\.run belongs to the extension vault; a credential of notes cannot call it/);
    const broken = (await client.callTool({ name: 'explode', arguments: {} })) as CallToolResult;
    assert.equal(broken.isError, true);
    assert.equal(text(broken), 'the handler broke');
    assert.match(text(await client.callTool({ name: 'note_list', arguments: {} })), /^alice\//);
    await client.close();
  });

  test('gateway mode serves one tool named after the server, without the denied commands', async () => {
    const client = await connect('notes', token(), '?gateway=1');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['notes']);
    const help = text(await client.callTool({ name: 'notes', arguments: { action: 'help' } }));
    assert.ok(help.includes('note_add') && !help.includes('note_purge'));
    await client.close();
  });

  test("the client's cancellation reaches the handler's AbortSignal", async () => {
    const client = await connect('notes', token());
    const controller = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: controller.signal });
    await waitUntil(() => endpoint.runningCalls > 0);
    controller.abort();
    await assert.rejects(call);
    await waitUntil(() => seen.aborted.length === 1);
    await waitUntil(() => endpoint.runningCalls === 0);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sessions', ALICE.id, 'mcp-calls')), [], 'a cancelled call leaves no journal entry');
    await client.close();
  });

  test('tokens: forged, of another extension, of the bridge, of a deleted session, and servers not granted', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const forged = `${token().slice(0, -4)}AAAA`;
    assert.equal((await post('notes', forged, body)).status, 401);
    assert.equal((await post('notes', '', body)).status, 401);
    assert.equal((await post('notes', token({ channel: 'bridge' }), body)).status, 401);
    const foreign = await post('vault', token(), body);
    assert.equal(foreign.status, 403);
    assert.match(((await foreign.json()) as { error: { message: string } }).error.message, /belongs to the extension notes, not to vault/);
    assert.equal((await post('vault', token({ extension: 'vault' }), body)).status, 403, 'alice was not given the vault');
    assert.equal((await post('vault', token({ sessionId: BOB.id, extension: 'vault' }), body)).status, 200);
    sessions.delete(ALICE.id);
    const gone = await post('notes', token(), body);
    assert.equal(gone.status, 401);
    assert.match(((await gone.json()) as { error: { message: string } }).error.message, /no longer exists/);
  });

  test('wrong paths, methods, oversized and malformed bodies get clear errors', async () => {
    const wrongPath = await fetch(`${endpoint.url}/elsewhere`, { method: 'POST' });
    assert.equal(wrongPath.status, 404);
    assert.match(((await wrongPath.json()) as { error: { message: string } }).error.message, /\/mcp\/<server>/);
    assert.equal((await fetch(`${endpoint.url}/mcp/nothing`, { method: 'POST', headers: { Authorization: `Bearer ${token()}` } })).status, 404);
    const get = await fetch(`${endpoint.url}/mcp/notes`, { headers: { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    const huge = await post('notes', token(), JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'note_add', arguments: { text: 'x'.repeat(MAX_REQUEST_BYTES) } } }));
    assert.equal(huge.status, 413);
    const junk = await post('notes', token(), '{"jsonrpc": "2.0", "id": 1, "meth');
    assert.equal(junk.status, 400);
    assert.equal(((await junk.json()) as { error: { code: number } }).error.code, -32700);
    const client = await connect('notes', token());
    assert.match(text(await client.callTool({ name: 'note_list', arguments: {} })), /^alice\//, 'still serving after the junk');
    await client.close();
  });

  test('after a restart the CLI resumes a call by its event id: idempotent tools run again under the same call id', async () => {
    journal.open(ALICE.id, { ref: 'c_aaaaaaaaaaaaaaaaaaaaaaaa', server: 'notes', requestId: 7, tool: 'slow', arguments: {} });
    journal.open(ALICE.id, { ref: 'c_bbbbbbbbbbbbbbbbbbbbbbbb', server: 'notes', requestId: 8, tool: 'note_add', arguments: { text: 'x' } });
    const resume = (ref: string) => fetch(`${endpoint.url}/mcp/notes`, { headers: { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream', 'Last-Event-ID': ref } });
    const pending = resume('c_aaaaaaaaaaaaaaaaaaaaaaaa');
    await waitUntil(() => seen.started.includes('c_aaaaaaaaaaaaaaaaaaaaaaaa'));
    releaseSlow();
    const body = await (await pending).text();
    assert.match(body, /"id":7,"result":\{"content":\[\{"type":"text","text":"released c_aaaaaaaaaaaaaaaaaaaaaaaa"\}\]\}/);
    const unsafe = await (await resume('c_bbbbbbbbbbbbbbbbbbbbbbbb')).text();
    assert.match(unsafe, /"id":8,.*may or may not have taken effect/);
    assert.equal(seen.calls.length, 0, 'a call that may not run twice is not run again');
    const unknown = await (await resume('c_cccccccccccccccccccccccc')).text();
    assert.match(unknown, /has no record of this tool call/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sessions', ALICE.id, 'mcp-calls')), []);
  });

  test('a running call is journalled, with its arguments only when it may run again; a running call cannot be resumed', async () => {
    const calls = path.join(dir, 'sessions', ALICE.id, 'mcp-calls');
    const journalled = () => fs.readdirSync(calls).map((file) => JSON.parse(fs.readFileSync(path.join(calls, file), 'utf8')) as { ref: string; tool: string; arguments: unknown });
    const client = await connect('notes', token());
    const held = client.callTool({ name: 'hold', arguments: { secret: 'hunter2' } });
    await waitUntil(() => fs.existsSync(calls) && journalled().length === 1);
    const [record] = journalled();
    assert.equal(record?.tool, 'hold');
    assert.equal(record?.arguments, null, 'the arguments of a call that will not run again stay off the disk');
    const again = await fetch(`${endpoint.url}/mcp/notes`, { headers: { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream', 'Last-Event-ID': record?.ref ?? '' } });
    assert.equal(again.status, 409);
    releaseHold();
    assert.equal(text(await held), 'held');
    const slow = client.callTool({ name: 'slow', arguments: {} });
    await waitUntil(() => journalled().length === 1);
    assert.deepEqual(journalled()[0]?.arguments, {});
    releaseSlow();
    await slow;
    assert.deepEqual(journalled(), [], 'answered calls leave the journal');
    await client.close();
  });

  test('journalled calls that no CLI came back for are swept', () => {
    journal.open(BOB.id, { ref: 'c_dddddddddddddddddddddddd', server: 'notes', requestId: 1, tool: 'slow', arguments: {} });
    assert.deepEqual(journal.sweep(Date.now() - 60_000), [], 'a recent call stays');
    assert.deepEqual(journal.sweep(Date.now() + 1000).map(({ sessionId, record }) => [sessionId, record.tool]), [[BOB.id, 'slow']]);
    assert.equal(journal.find(BOB.id, 'c_dddddddddddddddddddddddd'), undefined);
  });

  test('a tool server with two tools of one name, or a tool named help, is refused at registration', () => {
    const tool = defineTool({ name: 'x', description: 'x', input: {}, handler: () => 'x' });
    const help = defineTool({ name: 'help', description: 'h', input: {}, handler: () => 'h' });
    assert.throws(() => contributions.addTools('dup', { server: 'dup', tools: [tool, tool] }), /two tools are named "x"/);
    assert.throws(() => contributions.addTools('dup', { server: 'dup', tools: [help] }), /no tool may be named "help"/);
    assert.equal(contributions.findServer('dup'), undefined);
  });

  test('port 0 re-uses the port of the previous run while it is free', async () => {
    const portFile = path.join(dir, 'mcp.port');
    const first = endpoint.url;
    await endpoint.close();
    endpoint = new McpEndpoint({ logger: silentLogger, tokens, grants, journal, server: (name) => contributions.findServer(name), session: (id) => sessions.get(id), dispatch: (m, p, c) => rpc.dispatch(m, p, c), stateDir: dir, ready: Promise.resolve() });
    await endpoint.listen({ host: '127.0.0.1', port: 0 }, portFile);
    assert.equal(endpoint.url, first);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

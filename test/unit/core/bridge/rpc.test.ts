import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { silentLogger } from '../../../../core/util/log.ts';
import { RpcClient } from '../../../../core/bridge/rpc-client.ts';
import { RpcConnectionError, RpcError, RpcErrorCode } from '../../../../core/bridge/rpc-protocol.ts';
import type { Principal } from '../../../../core/bridge/bridge-protocol.ts';
import { RpcServer } from '../../../../core/bridge/rpc-server.ts';

/** A raw socket that sends lines and collects the answer lines. */
async function rawConnection(socketPath: string): Promise<{ send(text: string): void; next(): Promise<Record<string, unknown>>; socket: net.Socket }> {
  const socket = net.connect(socketPath);
  await new Promise((resolve) => socket.once('connect', resolve));
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  let buffer = '';
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return {
    socket,
    send: (text) => socket.write(text),
    next: () =>
      new Promise((resolve) => {
        const line = lines.shift();
        if (line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
        else waiters.push((l) => resolve(JSON.parse(l) as Record<string, unknown>));
      }),
  };
}

describe('JSON-RPC over the Unix socket', () => {
  let dir: string;
  let socketPath: string;
  let server: RpcServer;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-'));
    socketPath = path.join(dir, 'd.sock');
    server = new RpcServer({ socketPath, logger: silentLogger, maxLineBytes: 4096 });
    server.register('echo', (params) => params);
    server.register('sleep', async (params, ctx) => {
      const ms = (params as { ms: number }).ms;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
      return ms;
    });
    server.register('fail', () => {
      throw new RpcError(-32050, 'nope', { why: 'because' });
    });
    server.register('crash', () => {
      throw new TypeError('handler bug');
    });
    server.register('count', (params, ctx) => {
      for (let i = 1; i <= 3; i++) ctx.progress({ i });
      return 'done';
    });
    await server.listen();
  });

  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the socket is 0600', () => {
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
  });

  test('concurrent calls on one connection are answered out of order', async () => {
    const client = await RpcClient.connect(socketPath);
    const order: number[] = [];
    const calls = [300, 10, 150].map((ms) => client.call<number>('sleep', { ms }).then((value) => (order.push(value), value)));
    assert.deepEqual(await Promise.all(calls), [300, 10, 150]);
    assert.deepEqual(order, [10, 150, 300]);
    client.close();
  });

  test('progress notifications arrive in order before the result', async () => {
    const client = await RpcClient.connect(socketPath);
    const seen: unknown[] = [];
    assert.equal(await client.call('count', {}, { onProgress: (data) => seen.push(data) }), 'done');
    assert.deepEqual(seen, [{ i: 1 }, { i: 2 }, { i: 3 }]);
    client.close();
  });

  test('error codes for each kind of bad request', async () => {
    const raw = await rawConnection(socketPath);
    const ask = async (line: string): Promise<Record<string, unknown>> => {
      raw.send(`${line}\n`);
      return raw.next();
    };
    const code = (answer: Record<string, unknown>): number => (answer.error as { code: number }).code;
    assert.equal(code(await ask('{not json')), RpcErrorCode.ParseError);
    assert.equal(code(await ask('[1,2]')), RpcErrorCode.InvalidRequest);
    assert.equal(code(await ask('{"jsonrpc":"1.0","id":1,"method":"echo"}')), RpcErrorCode.InvalidRequest);
    const noMethod = await ask('{"jsonrpc":"2.0","id":7,"method":"nope"}');
    assert.equal(code(noMethod), RpcErrorCode.MethodNotFound);
    assert.equal(noMethod.id, 7);
    assert.equal(code(await ask('{"jsonrpc":"2.0","id":2,"method":"echo","params":5}')), RpcErrorCode.InvalidRequest);
    const own = await ask('{"jsonrpc":"2.0","id":"x","method":"fail"}');
    assert.deepEqual(own, { jsonrpc: '2.0', id: 'x', error: { code: -32050, message: 'nope', data: { why: 'because' } } });
    const crash = await ask('{"jsonrpc":"2.0","id":3,"method":"crash"}');
    assert.deepEqual(crash.error, { code: RpcErrorCode.ServerError, message: 'handler bug' });
    assert.deepEqual(await ask('{"jsonrpc":"2.0","id":4,"method":"echo","params":{"a":"ü😀"}}'), { jsonrpc: '2.0', id: 4, result: { a: 'ü😀' } });
    raw.socket.destroy();
  });

  test('a line over the limit gets an error and the connection goes on', async () => {
    const raw = await rawConnection(socketPath);
    raw.send(`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":"${'a'.repeat(10_000)}"}}\n`);
    const answer = await raw.next();
    assert.equal((answer.error as { code: number }).code, RpcErrorCode.InvalidRequest);
    assert.match((answer.error as { message: string }).message, /exceeds 4096 bytes/);
    raw.send('{"jsonrpc":"2.0","id":2,"method":"echo","params":{"ok":true}}\n');
    assert.deepEqual(await raw.next(), { jsonrpc: '2.0', id: 2, result: { ok: true } });
    raw.socket.destroy();
  });

  test('a request split across many writes is reassembled', async () => {
    const raw = await rawConnection(socketPath);
    const line = '{"jsonrpc":"2.0","id":9,"method":"echo","params":{"s":"é€😀"}}\n';
    const bytes = Buffer.from(line);
    for (let i = 0; i < bytes.length; i += 3) {
      raw.socket.write(bytes.subarray(i, i + 3));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await raw.next(), { jsonrpc: '2.0', id: 9, result: { s: 'é€😀' } });
    raw.socket.destroy();
  });

  test('a client that disconnects mid-request aborts the handler and the server goes on', async () => {
    let aborted = false;
    server.register('hang', (_params, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => ((aborted = true), reject(new Error('gone'))))));
    const raw = await rawConnection(socketPath);
    raw.send('{"jsonrpc":"2.0","id":1,"method":"hang"}\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    raw.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(aborted, true);
    const client = await RpcClient.connect(socketPath);
    assert.deepEqual(await client.call('echo', { still: 'alive' }), { still: 'alive' });
    client.close();
  });

  test('garbage fuzz never crashes the server', async () => {
    const raw = await rawConnection(socketPath);
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.alloc(1 + Math.floor(random() * 200), 0);
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      raw.socket.write(bytes);
    }
    raw.socket.write('\n');
    raw.socket.destroy();
    const client = await RpcClient.connect(socketPath);
    assert.deepEqual(await client.call('echo', [1]), [1]);
    client.close();
  });

  test('a client call can be cancelled; the server handler sees the abort', async () => {
    let sawAbort = false;
    server.register('wait', (_params, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => ((sawAbort = true), resolve(null)))));
    const client = await RpcClient.connect(socketPath);
    const controller = new AbortController();
    const call = client.call('wait', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(call, (error: unknown) => error instanceof RpcError && error.code === RpcErrorCode.Cancelled);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sawAbort, true);
    client.close();
  });

  test('pending calls fail with a connection error when the server goes away', async () => {
    const client = await RpcClient.connect(socketPath);
    const call = client.call('sleep', { ms: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await server.close();
    await assert.rejects(call, RpcConnectionError);
  });

  test('a second server on a live socket is refused; a stale socket file is replaced', async () => {
    const second = new RpcServer({ socketPath, logger: silentLogger });
    await assert.rejects(second.listen(), /another daemon is already listening/);
    await server.close();
    fs.writeFileSync(socketPath, '');
    const third = new RpcServer({ socketPath, logger: silentLogger });
    third.register('echo', (p) => p);
    await third.listen();
    const client = await RpcClient.connect(socketPath);
    assert.deepEqual(await client.call('echo', { n: 1 }), { n: 1 });
    client.close();
    await third.close();
  });

  test('dispatch runs the same methods in-process, registering twice is refused, dispose removes', async () => {
    assert.deepEqual(await server.dispatch('echo', { a: 1 }), { a: 1 });
    assert.throws(() => server.register('echo', () => 1), /already registered/);
    const extra = server.register('extra', () => 'x');
    assert.equal(await server.dispatch('extra', {}), 'x');
    extra.dispose();
    await assert.rejects(server.dispatch('extra', {}), (error: unknown) => error instanceof RpcError && error.code === RpcErrorCode.MethodNotFound);
  });

  test('with authentication: the principal comes from the token and access rules bind', async () => {
    const authPath = path.join(dir, 'auth.sock');
    const tokens: Record<string, Principal> = { 'admin-secret': { kind: 'admin' }, 'tok-a': { kind: 'session', sessionId: 's_a', user: 'alice', extension: 'probe' } };
    const secured = new RpcServer({ socketPath: authPath, logger: silentLogger, authenticate: (token) => tokens[token] });
    secured.register('whoami', (_params, ctx) => ctx.principal, { access: 'session' });
    secured.register('admin.only', () => 'ok');
    secured.register('open', () => 'hello', { access: 'public' });
    await secured.listen();
    try {
      const anonymous = await RpcClient.connect(authPath);
      assert.equal(await anonymous.call('open'), 'hello');
      await assert.rejects(anonymous.call('whoami'), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.Unauthorized);
      await assert.rejects(anonymous.call('auth', { token: 'forged' }), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.Unauthorized);
      anonymous.close();

      const session = await RpcClient.connect(authPath);
      assert.deepEqual(await session.call('auth', { token: 'tok-a' }), tokens['tok-a']);
      assert.deepEqual(await session.call('whoami', { sessionId: 's_b' }), tokens['tok-a']);
      await assert.rejects(session.call('admin.only'), /needs the admin credential/);
      session.close();

      const admin = await RpcClient.connect(authPath);
      await admin.call('auth', { token: 'admin-secret' });
      assert.equal(await admin.call('admin.only'), 'ok');
      await assert.rejects(admin.call('whoami'), /only be called from a session/);
      admin.close();
      await assert.rejects(secured.dispatch('whoami', {}), /only be called from a session/);
      assert.deepEqual(await secured.dispatch('whoami', {}, { principal: tokens['tok-a'] }), tokens['tok-a']);
    } finally {
      await secured.close();
    }
  });
});

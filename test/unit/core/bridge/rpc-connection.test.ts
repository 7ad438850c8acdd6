import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { CallCancellation } from '../../../../core/bridge/call-cancellation.ts';
import { RpcClient } from '../../../../core/bridge/rpc-client.ts';
import { RpcError, RpcErrorCode } from '../../../../core/bridge/rpc-protocol.ts';
import { RpcServer, type RpcCallContext } from '../../../../core/bridge/rpc-server.ts';
import { silentLogger } from '../../../../core/util/log.ts';

/** A raw connection that records every chunk the server writes. */
async function rawConnection(socketPath: string): Promise<{ socket: net.Socket; chunks: string[]; lines(): Array<Record<string, unknown>> }> {
  const socket = net.connect(socketPath);
  await new Promise((resolve) => socket.once('connect', resolve));
  const chunks: string[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return {
    socket,
    chunks,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('a socket connection', () => {
  let dir: string;
  let socketPath: string;
  let server: RpcServer;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-conn-'));
    socketPath = path.join(dir, 'd.sock');
    server = new RpcServer({ socketPath, logger: silentLogger });
    server.register('echo', (params) => params);
    server.register('later', async (params) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return params;
    });
    await server.listen();
  });

  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the answers to the requests of one read leave in one write, in order; later answers follow', async () => {
    const raw = await rawConnection(socketPath);
    const request = (id: number, method: string): string => `${JSON.stringify({ jsonrpc: '2.0', id, method, params: { n: id } })}\n`;
    raw.socket.write(request(1, 'echo') + request(2, 'later') + request(3, 'echo') + '{oops\n' + request(4, 'echo'));
    await until(() => raw.lines().length === 5, 'five answers');
    assert.equal(raw.chunks[0]!.split('\n').filter(Boolean).length, 4, 'the four immediate answers arrive together');
    assert.deepEqual(
      raw.lines().map((line) => line.id),
      [1, 3, null, 4, 2],
    );
    assert.deepEqual(raw.lines()[4], { jsonrpc: '2.0', id: 2, result: { n: 2 } });
    raw.socket.destroy();
  });

  test('a call cancelled before its handler looks at the signal finds it aborted, with the reason', async () => {
    let context: RpcCallContext | undefined;
    let release: () => void = () => undefined;
    server.register('hold', (_params, ctx) => {
      context = ctx;
      return new Promise<void>((resolve) => (release = resolve));
    });
    const raw = await rawConnection(socketPath);
    raw.socket.write('{"jsonrpc":"2.0","id":"h","method":"hold"}\n');
    await until(() => context !== undefined, 'the handler to start');
    raw.socket.write('{"jsonrpc":"2.0","method":"rpc.cancel","params":{"id":"h"}}\n');
    await until(() => context!.signal.aborted, 'the signal to abort');
    assert.ok(context!.signal.reason instanceof RpcError);
    assert.equal((context!.signal.reason as RpcError).code, RpcErrorCode.Cancelled);
    release();
    raw.socket.destroy();
  });

  test('progress passed on by itself still reaches the caller', async () => {
    server.register('steps', (_params, { progress }) => {
      progress('one');
      progress('two');
      return 'done';
    });
    const client = await RpcClient.connect(socketPath);
    const seen: unknown[] = [];
    assert.equal(await client.call('steps', {}, { onProgress: (data) => seen.push(data) }), 'done');
    assert.deepEqual(seen, ['one', 'two']);
    client.close();
  });

  test('a disconnect aborts running calls, whether or not their handler had looked at the signal', async () => {
    const contexts: RpcCallContext[] = [];
    server.register('park', (_params, ctx) => {
      contexts.push(ctx);
      if (contexts.length === 1) void ctx.signal;
      return new Promise(() => undefined);
    });
    const raw = await rawConnection(socketPath);
    raw.socket.write('{"jsonrpc":"2.0","id":1,"method":"park"}\n{"jsonrpc":"2.0","id":2,"method":"park"}\n');
    await until(() => contexts.length === 2, 'both calls to start');
    raw.socket.destroy();
    await until(() => contexts.every((ctx) => ctx.signal.aborted), 'both signals to abort');
    assert.match((contexts[1]!.signal.reason as Error).message, /disconnected/);
  });
});

describe('CallCancellation', () => {
  test('makes its signal only when asked, aborted already when cancelled before', () => {
    const early = new CallCancellation();
    early.cancel('first');
    early.cancel('second');
    assert.equal(early.isCancelled, true);
    assert.equal(early.signal.aborted, true);
    assert.equal(early.signal.reason, 'first');

    const late = new CallCancellation();
    const signal = late.signal;
    assert.equal(signal.aborted, false);
    late.cancel('now');
    assert.equal(signal.aborted, true);
    assert.equal(late.signal, signal);
  });
});

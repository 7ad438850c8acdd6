/** What one client (or many) can make the control socket hold: connections, time, lines, unread answers. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Principal } from '../../../../core/bridge/bridge-protocol.ts';
import { RpcClient } from '../../../../core/bridge/rpc-client.ts';
import { MAX_REPLY_BACKLOG_BYTES, MAX_RUNNING_CALLS } from '../../../../core/bridge/rpc-connection.ts';
import { RpcConnectionError } from '../../../../core/bridge/rpc-protocol.ts';
import { RpcServer, type RpcServerOptions } from '../../../../core/bridge/rpc-server.ts';
import { silentLogger } from '../../../../core/util/log.ts';
import { waitFor } from '../../../support/harness.ts';
import { rssKiB } from '../../../support/processes.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const ADMIN: Record<string, Principal> = { 'admin-secret': { kind: 'admin' } };

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server writes to a raw socket until it closes, as parsed lines. */
function answersUntilClose(socket: net.Socket): Promise<Array<{ id: unknown; error?: { code: number; message: string; data?: { code?: string } } }>> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: unknown })));
  });
}

function request(id: number, method: string, params: unknown = {}): string {
  return `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
}

describe('the control socket\'s limits', () => {
  let dir: string;
  let socketPath: string;
  const servers: RpcServer[] = [];
  const sockets: net.Socket[] = [];

  async function serve(options: Partial<RpcServerOptions> = {}): Promise<RpcServer> {
    const server = new RpcServer({ socketPath, logger: silentLogger, authenticate: (token) => ADMIN[token], ...options });
    server.register('daemon.ping', () => ({ pong: true }), { access: 'any' });
    await server.listen();
    servers.push(server);
    return server;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-limits-'));
    socketPath = path.join(dir, 'd.sock');
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the 257th connection is refused with an error that names the limit; once one closes, the admin gets in', { timeout: 15_000 }, async () => {
    const server = await serve();
    for (let i = 0; i < 256; i += 1) sockets.push(await connect(socketPath));
    await waitFor('256 connections', () => server.stats().connections === 256);

    const refused = await connect(socketPath);
    const answers = await answersUntilClose(refused);
    assert.equal(answers.length, 1);
    assert.equal(answers[0]?.id, null);
    assert.equal(answers[0]?.error?.data?.code, 'connection_limit');
    assert.match(answers[0]?.error?.message ?? '', /already serves 256 connections \(bridge\.max_connections\)/);

    const client = await RpcClient.connect(socketPath);
    await assert.rejects(client.call('auth', { token: 'admin-secret' }), (error: unknown) => error instanceof RpcConnectionError && /already serves 256 connections/.test(error.message));
    assert.equal(server.stats().connections, 256);

    sockets.pop()?.destroy();
    await waitFor('a free place', () => server.stats().connections === 255);
    const admin = await RpcClient.connect(socketPath);
    assert.deepEqual(await admin.call('auth', { token: 'admin-secret' }), { kind: 'admin' });
    assert.deepEqual(await admin.call('daemon.ping'), { pong: true });
    admin.close();
  });

  test('a connection that has not authenticated in time is told so and closed; an authenticated one stays', { timeout: 15_000 }, async () => {
    const server = await serve({ authTimeoutMs: 200 });
    const idle = await connect(socketPath);
    const started = Date.now();
    const answers = await answersUntilClose(idle);
    const waited = Date.now() - started;
    assert.ok(waited >= 150 && waited < 2000, `closed after ${waited} ms`);
    assert.equal(answers[0]?.error?.data?.code, 'auth_timeout');
    assert.match(answers[0]?.error?.message ?? '', /no valid credential within 0\.2 s/);

    const refusedToken = await RpcClient.connect(socketPath);
    await assert.rejects(refusedToken.call('auth', { token: 'forged' }), /not valid/);
    await waitFor('the refused connection closed', () => refusedToken.closed, 2000);

    const admin = await RpcClient.connect(socketPath);
    await admin.call('auth', { token: 'admin-secret' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(await admin.call('daemon.ping'), { pong: true });
    admin.close();
    await waitFor('no connection left', () => server.stats().connections === 0, 2000);
  });

  test('a long line before authentication is refused at once with an answer, and the connection closed', { timeout: 15_000 }, async () => {
    await serve();
    const junk = await connect(socketPath);
    const answers = answersUntilClose(junk);
    junk.write(Buffer.alloc(1024 * 1024, 0x61));
    const [answer] = await answers;
    assert.equal(answer?.error?.data?.code, 'line_too_long');
    assert.match(answer?.error?.message ?? '', /exceeds 65536 bytes before authentication/);

    // Authenticated, a long line (up to the line limit) is a request like any other.
    const admin = await RpcClient.connect(socketPath);
    await admin.call('auth', { token: 'admin-secret' });
    assert.deepEqual(await admin.call('daemon.ping', { padding: 'x'.repeat(200_000) }), { pong: true });
    admin.close();
  });

  test('a client that sends many requests and reads no answer: the answers it leaves unread stay bounded, and none is lost', { timeout: 15_000 }, async () => {
    const server = new RpcServer({ socketPath, logger: silentLogger });
    servers.push(server);
    server.register('blob', () => 'x'.repeat(200));
    await server.listen();
    const client = await connect(socketPath);
    sockets.push(client);
    client.pause();
    const count = 20_000;
    let text = '';
    for (let id = 1; id <= count; id += 1) text += request(id, 'blob');
    client.write(text); // about 1 MB of requests, 4.5 MB of answers

    let most = 0;
    const until = Date.now() + 700;
    while (Date.now() < until) {
      most = Math.max(most, server.stats().unreadReplyBytes);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(most > 0, 'answers were waiting');
    assert.ok(most < MAX_REPLY_BACKLOG_BYTES + 512 * 1024, `${most} bytes of answers held for a client that does not read`);

    const received = countLines(client);
    client.resume();
    await waitFor(`all ${count} answers`, () => received() === count, 10_000);
  });

  test('a client that starts many slow calls at once has at most MAX_RUNNING_CALLS of them running; all end', { timeout: 15_000 }, async () => {
    const server = new RpcServer({ socketPath, logger: silentLogger });
    servers.push(server);
    let active = 0;
    let most = 0;
    server.register('slow', async () => {
      active += 1;
      most = Math.max(most, active);
      await new Promise((resolve) => setTimeout(resolve, 20));
      active -= 1;
      return 'done';
    });
    await server.listen();
    const client = await connect(socketPath);
    sockets.push(client);
    const count = 5000;
    const received = countLines(client);
    let text = '';
    for (let id = 1; id <= count; id += 1) text += request(id, 'slow');
    client.write(text);
    await waitFor(`all ${count} answers`, () => received() === count, 10_000);
    assert.ok(most <= MAX_RUNNING_CALLS, `${most} calls ran at once`);
    assert.ok(most >= MAX_RUNNING_CALLS / 2, `${most} calls ran at once: the limit holds back, it does not serialise`);
  });
});

test('a flood of unauthenticated connections, each sending 1 MB without a newline, does not grow the server\'s memory', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-flood-'));
  const socketPath = path.join(dir, 'd.sock');
  const child = spawn(process.execPath, ['--conditions=source', '--import', path.join(ROOT, 'bin/register-hooks.mjs'), path.join(ROOT, 'test/support/bridge-server-process.ts'), socketPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('the server to listen', () => output.includes('listening'), 20_000);
    // Warm: a few ordinary connections first, so the baseline includes what serving costs at all.
    for (let i = 0; i < 5; i += 1) {
      const client = await RpcClient.connect(socketPath);
      await client.call('auth', { token: 'nobody' }).catch(() => undefined);
      client.close();
    }
    const before = rssKiB(child.pid!);
    const junk = Buffer.alloc(1024 * 1024, 0x61);
    const flood = Array.from({ length: 400 }, async () => {
      const socket = net.connect(socketPath);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => socket.write(junk));
        socket.once('close', () => resolve());
        socket.once('error', () => resolve());
        // Stays open as long as the server lets it, up to a few seconds.
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 3000).unref();
      });
    });
    let most = before;
    const sampling = setInterval(() => (most = Math.max(most, rssKiB(child.pid!))), 10);
    await Promise.all(flood);
    clearInterval(sampling);
    const grewMiB = (most - before) / 1024;
    assert.ok(grewMiB < 64, `the server grew by ${grewMiB.toFixed(0)} MiB under 400 connections of 1 MB junk each`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** How many complete lines the socket has received so far. */
function countLines(socket: net.Socket): () => number {
  let received = 0;
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    received += lines.length;
  });
  return () => received;
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BRIDGE_ENV, type Principal } from '../../../core/bridge/bridge-protocol.ts';
import { silentLogger } from '../../../core/util/log.ts';
import { RpcConnectionError, RpcError, RpcErrorCode } from '../../../core/bridge/rpc-protocol.ts';
import { RpcServer } from '../../../core/bridge/rpc-server.ts';
import { BridgeClient } from '../../../mcp/bridge-client.ts';
import { BridgeClosedError, BridgeEnvError, BridgeRestartedError, BridgeUnavailableError } from '../../../mcp/bridge-errors.ts';

const TOKEN = 'session-token';
const PRINCIPAL: Principal = { kind: 'session', sessionId: 's-1', user: 'alice', extension: 'probe' };
const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 100, giveUpAfterMs: 5000 };

/** A typed error as extensions throw them: a snake_case code and public fields. */
class DuplicateNoteError extends Error {
  readonly code = 'duplicate_note';
  constructor(readonly title: string) {
    super(`a note titled "${title}" exists already`);
    this.name = 'DuplicateNoteError';
  }
}

/** What the daemon stand-in saw: each authentication attempt and each run of `read` and `write`. */
interface DaemonLog {
  auths: number;
  reads: unknown[];
  writes: unknown[];
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function neverSettles(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
}

describe('BridgeClient', () => {
  let dir: string;
  let socketPath: string;
  let record: DaemonLog;
  const servers: RpcServer[] = [];
  const clients: BridgeClient[] = [];

  /** A daemon on the socket; a `hanging` one never answers `read` or `write`, as if they were still running. */
  async function startDaemon(options: { hanging?: boolean; acceptToken?: (token: string) => boolean } = {}): Promise<RpcServer> {
    const accept = options.acceptToken ?? ((token: string) => token === TOKEN);
    const server = new RpcServer({
      socketPath,
      logger: silentLogger,
      authenticate: (token) => {
        record.auths++;
        return accept(token) ? PRINCIPAL : undefined;
      },
    });
    server.register('whoami', (_params, ctx) => ctx.principal, { access: 'session' });
    server.register(
      'read',
      async (params, ctx) => {
        record.reads.push(params);
        if (options.hanging) await neverSettles(ctx.signal);
        return { read: params };
      },
      { access: 'session' },
    );
    server.register(
      'write',
      async (params, ctx) => {
        record.writes.push(params);
        if (options.hanging) await neverSettles(ctx.signal);
        return { wrote: params };
      },
      { access: 'session' },
    );
    server.register(
      'notes.add',
      (params) => {
        const title = (params as { title: string }).title;
        if (title === 'taken') throw new DuplicateNoteError(title);
        if (title === '') throw new Error('the title is empty');
        return { added: title };
      },
      { access: 'session' },
    );
    await server.listen();
    servers.push(server);
    return server;
  }

  function client(token = TOKEN, reconnect = FAST_RECONNECT): BridgeClient {
    const made = new BridgeClient({ socketPath, token, reconnect });
    clients.push(made);
    return made;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-bridge-'));
    socketPath = path.join(dir, 'bridge.sock');
    record = { auths: 0, reads: [], writes: [] };
  });

  afterEach(async () => {
    for (const made of clients.splice(0)) made.close();
    for (const server of servers.splice(0)) await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('authenticates with the token and calls as the session', async () => {
    await startDaemon();
    const bridge = client();
    assert.deepEqual(await bridge.connect(), PRINCIPAL);
    assert.deepEqual(bridge.principal, PRINCIPAL);
    assert.deepEqual(await bridge.call('whoami'), PRINCIPAL);
    assert.deepEqual(await bridge.call('read', { key: 'a' }), { read: { key: 'a' } });
    assert.equal(record.auths, 1);
  });

  test("a daemon's typed error arrives with its code and fields, and is not retried", async () => {
    await startDaemon();
    const bridge = client();
    const failure = await bridge.call('notes.add', { title: 'taken' }, { idempotent: true }).then(
      () => assert.fail('the call did not fail'),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof RpcError);
    assert.equal(failure.code, RpcErrorCode.ServerError);
    assert.equal(failure.dataCode, 'duplicate_note');
    assert.deepEqual(failure.data, { code: 'duplicate_note', title: 'taken' });
    assert.equal(failure.message, 'a note titled "taken" exists already');
    await assert.rejects(bridge.call('notes.add', { title: '' }), (error: unknown) => error instanceof RpcError && error.dataCode === undefined && error.message === 'the title is empty');
    assert.deepEqual(await bridge.call('notes.add', { title: 'free' }), { added: 'free' });
    assert.equal(record.auths, 1, 'an answered failure keeps the connection');
  });

  test('a refused token fails every call with the daemon message, without trying again', async () => {
    await startDaemon();
    const bridge = client('stale-token');
    const started = Date.now();
    const isRefusal = (error: unknown): boolean =>
      error instanceof RpcError && error.code === RpcErrorCode.Unauthorized && /session deleted/.test(error.message);
    await assert.rejects(bridge.call('read', {}, { idempotent: true }), isRefusal);
    await assert.rejects(bridge.call('whoami'), isRefusal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(record.auths, 1);
    assert.deepEqual(record.reads, []);
    assert.ok(Date.now() - started < 1000);
  });

  test('a daemon restart resends idempotent calls, fails the others, and holds new calls until it is back', async () => {
    const first = await startDaemon({ hanging: true });
    const bridge = client();
    const read = bridge.call('read', { n: 1 }, { idempotent: true });
    const write = bridge.call('write', { n: 2 });
    await until(() => record.reads.length === 1 && record.writes.length === 1, 'both calls to reach the first daemon');

    await first.close();
    await assert.rejects(write, (error: unknown) => error instanceof BridgeRestartedError && /write: the daemon restarted while the call was running, so it may or may not have taken effect/.test(error.message));

    let duringSettled = false;
    const during = bridge.call('write', { n: 3 }).finally(() => (duringSettled = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(duringSettled, false, 'a call made while the daemon is down waits for it');

    await startDaemon();
    assert.deepEqual(await read, { read: { n: 1 } });
    assert.deepEqual(await during, { wrote: { n: 3 } });
    assert.deepEqual(record.reads, [{ n: 1 }, { n: 1 }], 'the idempotent read ran on both daemons');
    assert.deepEqual(record.writes, [{ n: 2 }, { n: 3 }], 'the interrupted write ran exactly once');
    assert.equal(record.auths, 2, 'the waiting calls shared one reconnection');
  });

  test('a session deleted during the restart fails the resent call with the refusal', async () => {
    const first = await startDaemon({ hanging: true });
    const bridge = client();
    const read = bridge.call('read', {}, { idempotent: true });
    await until(() => record.reads.length === 1, 'the call to reach the daemon');
    await first.close();
    await startDaemon({ acceptToken: () => false });
    await assert.rejects(read, (error: unknown) => error instanceof RpcError && error.code === RpcErrorCode.Unauthorized);
    assert.equal(record.reads.length, 1);
  });

  test('gives up when the daemon stays away longer than the policy allows', async () => {
    const bridge = client(TOKEN, { initialDelayMs: 10, maxDelayMs: 40, giveUpAfterMs: 200 });
    const started = Date.now();
    await assert.rejects(bridge.call('read'), (error: unknown) => error instanceof BridgeUnavailableError && error.message.includes(socketPath));
    assert.ok(Date.now() - started < 1000);
  });

  test("a call's time limit also bounds the wait for the daemon", async () => {
    const bridge = client();
    await assert.rejects(bridge.call('read', {}, { timeoutMs: 100 }), (error: unknown) => error instanceof RpcConnectionError && /read: no answer within 100 ms/.test(error.message));
  });

  test('close() fails running and later calls', async () => {
    await startDaemon({ hanging: true });
    const bridge = client();
    const read = bridge.call('read', {}, { idempotent: true });
    await until(() => record.reads.length === 1, 'the call to reach the daemon');
    bridge.close();
    await assert.rejects(read, BridgeClosedError);
    await assert.rejects(bridge.call('whoami'), BridgeClosedError);
    assert.equal(bridge.closed, true);
  });

  test('fromEnv reads the socket and token, and names what is missing', async () => {
    await startDaemon();
    assert.throws(
      () => BridgeClient.fromEnv({}),
      (error: unknown) => error instanceof BridgeEnvError && error.message.startsWith(`${BRIDGE_ENV.socket} and ${BRIDGE_ENV.token} are not set`),
    );
    assert.throws(() => BridgeClient.fromEnv({ [BRIDGE_ENV.socket]: socketPath }), (error: unknown) => error instanceof BridgeEnvError && error.message.startsWith(`${BRIDGE_ENV.token} is not set`));
    const bridge = BridgeClient.fromEnv({ [BRIDGE_ENV.socket]: socketPath, [BRIDGE_ENV.token]: TOKEN });
    clients.push(bridge);
    assert.deepEqual(await bridge.call('whoami'), PRINCIPAL);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ControlErrorCode, registerControlApi, type ControlDeps } from '../../../../core/bridge/control-api.ts';
import { toErrorObject } from '../../../../core/bridge/error-answer.ts';
import { RpcClient } from '../../../../core/bridge/rpc-client.ts';
import { RpcError, RpcErrorCode } from '../../../../core/bridge/rpc-protocol.ts';
import { RpcServer } from '../../../../core/bridge/rpc-server.ts';
import { SessionNotFoundError } from '../../../../core/util/errors.ts';
import { silentLogger } from '../../../../core/util/log.ts';
import { DuplicateJobError, JobNotFoundError } from '../../../../extensions/cron/job-store.ts';

/** A typed error with fields of every kind, some of which JSON cannot carry as they are. */
class QuotaError extends Error {
  readonly code = 'quota_exceeded';
  readonly retryAfter = Infinity;
  readonly details = { nested: true };
  readonly callback = (): void => undefined;
  readonly missing = undefined;
  constructor(
    readonly user: string,
    readonly used: number,
    readonly limits: number[],
    readonly hard: boolean,
    readonly owner: string | null,
  ) {
    super(`user "${user}" used ${used} of ${limits.join('/')}`, { cause: new Error('internal detail') });
    this.name = 'QuotaError';
  }
}

/** Sends one request line and resolves with the decoded answer line. */
async function askRaw(socketPath: string, line: string): Promise<Record<string, unknown>> {
  const socket = net.connect(socketPath);
  let buffer = '';
  try {
    return await new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const newline = buffer.indexOf('\n');
        if (newline !== -1) resolve(JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>);
      });
      socket.write(`${line}\n`);
    });
  } finally {
    socket.destroy();
  }
}

describe('typed errors over the socket', () => {
  let dir: string;
  let socketPath: string;
  let server: RpcServer;
  let client: RpcClient;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-typed-'));
    socketPath = path.join(dir, 'd.sock');
    server = new RpcServer({ socketPath, logger: silentLogger });
    server.register('cron.add', () => {
      throw new DuplicateJobError('alice', 'daily', 'session');
    });
    server.register('cron.remove', async () => {
      throw new JobNotFoundError('j_42');
    });
    server.register('quota', () => {
      throw new QuotaError('bob', 7, [5, 10], false, null);
    });
    server.register('read', () => fs.readFileSync(path.join(dir, 'no-such-file')));
    server.register('bug', () => {
      const value = undefined as unknown as { field: string };
      return value.field;
    });
    await server.listen();
    client = await RpcClient.connect(socketPath);
  });

  afterEach(async () => {
    client.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a typed error answers ServerError with its code and fields in data', async () => {
    const answer = await askRaw(socketPath, '{"jsonrpc":"2.0","id":1,"method":"cron.add","params":{}}');
    assert.deepEqual(answer, {
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: RpcErrorCode.ServerError,
        message: 'user "alice" already has a cron job named "daily" (from session); choose another name or delete that job first',
        data: { code: 'cron_duplicate_job', user: 'alice', jobName: 'daily', existingSource: 'session' },
      },
    });
  });

  test('the client tells one typed error from another by its code, sync or async handler alike', async () => {
    const rejection = async (method: string): Promise<RpcError> => {
      try {
        await client.call(method);
      } catch (error) {
        assert.ok(error instanceof RpcError);
        return error;
      }
      throw new Error(`${method} did not fail`);
    };
    const duplicate = await rejection('cron.add');
    assert.equal(duplicate.code, RpcErrorCode.ServerError);
    assert.equal(duplicate.dataCode, 'cron_duplicate_job');
    assert.deepEqual(duplicate.data, { code: 'cron_duplicate_job', user: 'alice', jobName: 'daily', existingSource: 'session' });
    const missing = await rejection('cron.remove');
    assert.equal(missing.dataCode, 'cron_job_not_found');
    assert.deepEqual(missing.data, { code: 'cron_job_not_found', jobId: 'j_42' });
  });

  test('only fields JSON carries as they are are sent; never the stack, the cause or the name', async () => {
    const quota = await client.call('quota').then(
      () => assert.fail('quota did not fail'),
      (error: unknown) => error as RpcError,
    );
    assert.deepEqual(quota.data, { code: 'quota_exceeded', user: 'bob', used: 7, limits: [5, 10], hard: false, owner: null });
    assert.equal(quota.message, 'user "bob" used 7 of 5/10');
  });

  test('errors that are not typed answer their message only', async () => {
    const read = await askRaw(socketPath, '{"jsonrpc":"2.0","id":2,"method":"read"}');
    const readError = read.error as { code: number; message: string; data?: unknown };
    assert.equal(readError.code, RpcErrorCode.ServerError);
    assert.match(readError.message, /^ENOENT: no such file or directory/);
    assert.equal('data' in readError, false, "Node's own error codes (ENOENT) are not typed-error codes");

    const bug = await askRaw(socketPath, '{"jsonrpc":"2.0","id":3,"method":"bug"}');
    assert.deepEqual(Object.keys(bug.error as object).sort(), ['code', 'message']);
    await assert.rejects(client.call('bug'), (error: unknown) => error instanceof RpcError && error.data === undefined && error.dataCode === undefined);
  });

  test('an RpcError keeps its own code and data', () => {
    assert.deepEqual(toErrorObject(new RpcError(-32050, 'nope', { why: 'because' })), { code: -32050, message: 'nope', data: { why: 'because' } });
    assert.equal(new RpcError(-32050, 'nope', { code: 7 }).dataCode, undefined, 'a code that is not a string is no typed-error code');
  });
});

describe('typed errors of the control API', () => {
  test('keep their own JSON-RPC code and carry their code and fields in data', async () => {
    const server = new RpcServer({ socketPath: path.join(os.tmpdir(), 'unused.sock'), logger: silentLogger });
    const engine = {
      findSession: (session: string, user?: string) => {
        throw new SessionNotFoundError(user, session);
      },
    };
    registerControlApi(server, { engine, recovered: () => true, whenRecovered: Promise.resolve() } as unknown as ControlDeps);
    await assert.rejects(server.dispatch('session.delete', { session: 'work', user: 'alice' }), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, ControlErrorCode.SessionNotFound);
      assert.equal(error.message, 'user "alice" has no session "work"');
      assert.deepEqual(error.data, { code: 'session_not_found', user: 'alice', session: 'work' });
      return true;
    });
  });
});

test('a tool served by the daemon gets the same RpcError in-process as a socket client: code and fields in data', async () => {
  const { inProcessCaller } = await import('../../../../core/mcp-endpoint/session-tools.ts');
  const caller = inProcessCaller(
    async () => {
      throw new DuplicateJobError('alice', 'standup', 'session');
    },
    { kind: 'session', sessionId: 's_1', user: 'alice', extension: 'cron' },
  );
  const error = await caller.call('cron.create', {}).then(
    () => assert.fail('the call should fail'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof RpcError);
  assert.equal(error.dataCode, 'cron_duplicate_job');
  assert.deepEqual(error.data, { code: 'cron_duplicate_job', user: 'alice', jobName: 'standup', existingSource: 'session' });
});

describe('the control API during start-up', () => {
  test('a call made before the sessions are recovered waits for them instead of finding none', async () => {
    const server = new RpcServer({ socketPath: path.join(os.tmpdir(), 'unused.sock'), logger: silentLogger });
    const known = new Set<string>();
    const engine = {
      findSession: (session: string, user?: string) => {
        if (!known.has(session)) throw new SessionNotFoundError(user, session);
        return { id: session, name: session, user: 'alice' };
      },
      latestPromptId: () => 'p_1',
      getPrompt: () => ({ id: 'p_1', status: 'done' }),
    };
    let recovered = false;
    let markRecovered: () => void = () => undefined;
    const whenRecovered = new Promise<void>((resolve) => (markRecovered = resolve));
    registerControlApi(server, { engine, recovered: () => recovered, whenRecovered } as unknown as ControlDeps);
    const answer = server.dispatch('prompt.get', { session: 's_1' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    known.add('s_1');
    recovered = true;
    markRecovered();
    assert.deepEqual(await answer, { id: 'p_1', status: 'done' });
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectAsAdmin, DaemonBusyError } from '../../../../core/bridge/admin-client.ts';
import { daemonPaths } from '../../../../core/config/paths.ts';
import { RpcConnectionError } from '../../../../core/bridge/rpc-protocol.ts';

describe('connectAsAdmin', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-admin-'));
    fs.writeFileSync(path.join(dir, 'admin.token'), 'secret\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('no daemon: a connection error at once', async () => {
    await assert.rejects(connectAsAdmin(dir), RpcConnectionError);
  });

  test('a daemon that accepts but does not answer is reported as busy, not as missing', async () => {
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(daemonPaths(dir).socket, resolve));
    try {
      await assert.rejects(connectAsAdmin(dir, { timeoutMs: 200 }), (error: unknown) => {
        assert.ok(error instanceof DaemonBusyError);
        assert.match(error.message, /accepted the connection but did not answer within 0\.2 s: it is running but overloaded or stuck/);
        return true;
      });
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

/**
 * SIGTERM ends the daemon whatever its extensions do: two dropped-in extensions whose stop() never
 * returns and which leave a timer and a listening socket open. Session processes keep running in tmux.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { daemonPaths } from '../../core/config/paths.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';
import { createWorld, type TestWorld } from '../support/harness.ts';
import { tmuxPaneProcesses } from '../support/processes.ts';

/** An extension that never finishes stopping and keeps the event loop busy: a timer and a server of its own. */
const STUCK = `
import net from 'node:net';
export default () => ({
  name: 'NAME',
  start(ctx) {
    setInterval(() => undefined, 1000);
    net.createServer().listen(0, '127.0.0.1');
    ctx.logger.info('NAME holds a timer and a socket');
  },
  stop() {
    return new Promise(() => undefined);
  },
});
`;

/** Sends `signal` and resolves with the time to the daemon's exit and its code, or fails after `limitMs`. */
async function exitAfter(daemon: DaemonProcess, signal: NodeJS.Signals, limitMs: number): Promise<{ ms: number; code: number | null }> {
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => daemon.child.once('exit', (code) => resolve(code)));
  daemon.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`the daemon still runs ${limitMs} ms after ${signal}:\n${daemon.output().slice(-2000)}`)), limitMs)))]);
  clearTimeout(timer);
  return { ms: Date.now() - started, code };
}

function claudeProcesses(world: TestWorld): number[] {
  return tmuxPaneProcesses(daemonPaths(world.stateDir).tmuxSocket)
    .filter((proc) => proc.comm.startsWith('claude'))
    .map((proc) => proc.pid);
}

describe('stopping the daemon with extensions that do not stop', () => {
  let world: TestWorld;
  let config: string;

  before(async () => {
    world = await createWorld('shutdown');
    const extensionsDir = path.join(world.root, 'extensions');
    for (const name of ['stuck_a', 'stuck_b']) {
      fs.mkdirSync(path.join(extensionsDir, name), { recursive: true });
      fs.writeFileSync(path.join(extensionsDir, name, 'extension.js'), STUCK.replaceAll('NAME', name));
    }
    config = writeConfig(world, `extensions_dirs: [${extensionsDir}]\nenabled: [stuck_a, stuck_b]\n`);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('SIGTERM: the daemon exits within 15 s, naming what did not stop; the session\'s claude keeps running', { timeout: 90_000 }, async () => {
    const daemon = await startDaemonProcess(world, ['--config', config]);
    try {
      const run = await runCli(world, ['prompt', '--config', config, '@reply warm now']);
      assert.equal(run.code, 0, run.stderr);
      const before = claudeProcesses(world);
      assert.equal(before.length, 1, 'one warm claude process');

      const { ms, code } = await exitAfter(daemon, 'SIGTERM', 15_000);
      assert.equal(code, 0, daemon.output().slice(-2000));
      assert.match(daemon.output(), /given up on: the stop\(\) of extension stuck_b; the stop\(\) of extension stuck_a/);
      assert.ok(readEventLog(world).some((e) => e.type === 'daemon_stopped'));
      assert.deepEqual(claudeProcesses(world), before, 'the session process is the same and still runs');
      assert.ok(ms >= 1000, `exited after ${ms} ms: the extensions were given time to stop`);
    } finally {
      await daemon.kill();
    }
  });

  test('a second signal ends the daemon at once', { timeout: 60_000 }, async () => {
    const daemon = await startDaemonProcess(world, ['--config', config]);
    try {
      daemon.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const { code } = await exitAfter(daemon, 'SIGINT', 3000);
      assert.equal(code, 1);
      assert.match(daemon.output(), /SIGINT during the shutdown: exiting at once \(it was stopping extensions \(stuck_b\)\)/);
    } finally {
      await daemon.kill();
    }
  });
});

/**
 * (j) Many sessions on one machine: 200 sessions each answer a prompt (a few at a time, as users
 * would), most then sit idle. `sessions.max_warm` (sized from the machine's memory by default) keeps
 * the warm processes bounded; the figure is the memory of the daemon and every session process.
 */
import fs from 'node:fs';
import os from 'node:os';
import { connectAsAdmin } from '../core/bridge/admin-client.ts';
import { defaultMaxWarm } from '../core/sessions/engine-settings.ts';
import { createWorld, type TestWorld } from '../test/support/harness.ts';
import { startDaemonProcess, writeConfig } from '../test/support/daemon-process.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const AT_ONCE = 4;

export async function manySessionsBench(): Promise<void> {
  const world = await createWorld('bench-many');
  // Every session is another user's, so the per-user session limit is not what is measured.
  const daemon = await startDaemonProcess(world, ['--config', writeConfig(world)]);
  const client = await connectAsAdmin(world.stateDir);
  const started = performance.now();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < SESSIONS; i = next++) await client.call('prompt.submit', { user: `user${i}`, text: '@reply hello', follow: true });
    };
    await Promise.all(Array.from({ length: AT_ONCE }, worker));
    const elapsed = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const counts = await client.call<{ sessions: Record<string, number> }>('daemon.status', {});
    const memory = processMemory(world, daemon.child.pid ?? 0);
    console.log(
      `(j) ${SESSIONS} sessions, ${counts.sessions.warm ?? '?'} warm (max_warm ${defaultMaxWarm(os.totalmem())} on ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB): ` +
        `daemon ${(memory.daemonKiB / 1024).toFixed(0)} MiB, session processes ${(memory.sessionsKiB / 1024).toFixed(0)} MiB, total ${((memory.daemonKiB + memory.sessionsKiB) / 1024 ** 2).toFixed(2)} GiB; ` +
        `all answered in ${elapsed.toFixed(0)} s`,
    );
  } finally {
    client.close();
    await daemon.stop();
    await world.cleanup();
  }
}

/** RSS of the daemon and of every process running with a HOME inside the world (sessions, sandboxed or not). */
function processMemory(world: TestWorld, daemonPid: number): { daemonKiB: number; sessionsKiB: number } {
  let sessionsKiB = 0;
  let daemonKiB = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      if (Number(pid) === daemonPid) {
        daemonKiB = rss;
        continue;
      }
      const home = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((entry) => entry.startsWith('HOME=')) ?? '';
      if (home.startsWith(`HOME=${world.root}/`)) sessionsKiB += rss;
    } catch {
      // ended meanwhile
    }
  }
  return { daemonKiB, sessionsKiB };
}

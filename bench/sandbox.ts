/**
 * (i) What the sandbox costs a prompt: the same daemon configuration with `sandbox.mode: bwrap` and
 * `none`, side by side in one run, rounds interleaved so that the machine's drift hits both alike.
 */
import { connectAsAdmin } from '../core/bridge/admin-client.ts';
import type { RpcClient } from '../core/bridge/rpc-client.ts';
import { createWorld, type TestWorld } from '../test/support/harness.ts';
import { startDaemonProcess, writeConfig, type DaemonProcess } from '../test/support/daemon-process.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Side {
  readonly world: TestWorld;
  readonly daemon: DaemonProcess;
  readonly client: RpcClient;
  readonly first: number[];
  readonly followUp: number[];
  readonly newUser: number[];
}

async function side(mode: 'bwrap' | 'none'): Promise<Side> {
  const world = await createWorld(`bench-sandbox-${mode}`);
  const daemon = await startDaemonProcess(world, ['--config', writeConfig(world, `sandbox:\n  mode: ${mode}\n`)]);
  return { world, daemon, client: await connectAsAdmin(world.stateDir), first: [], followUp: [], newUser: [] };
}

async function timed(client: RpcClient, params: Record<string, unknown>): Promise<{ ms: number; sessionId: string }> {
  const started = performance.now();
  const answer = await client.call<{ sessionId: string }>('prompt.submit', { ...params, follow: true });
  return { ms: performance.now() - started, sessionId: answer.sessionId };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

export async function sandboxBench(): Promise<void> {
  const on = await side('bwrap');
  const off = await side('none');
  try {
    for (const s of [on, off]) await timed(s.client, { user: 'bench', text: '@reply warm the page cache' });
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const s of round % 2 === 0 ? [on, off] : [off, on]) {
        const first = await timed(s.client, { user: 'bench', new: true, text: '@reply first' });
        s.first.push(first.ms);
        s.followUp.push((await timed(s.client, { user: 'bench', session: first.sessionId, text: '@reply again' })).ms);
        s.newUser.push((await timed(s.client, { user: `new${round}`, text: '@reply hello' })).ms);
        await s.client.call('session.delete', { user: 'bench', session: first.sessionId });
      }
    }
    const line = (name: string, a: number[], b: number[]): void => {
      console.log(`${name.padEnd(34)} bwrap ${median(a).toFixed(0).padStart(5)} ms   none ${median(b).toFixed(0).padStart(5)} ms   ratio ${(median(a) / median(b)).toFixed(2)}`);
    };
    console.log(`(i) the sandbox on against off, medians over ${ROUNDS} rounds`);
    line('(i) first prompt', on.first, off.first);
    line('(i) follow-up', on.followUp, off.followUp);
    // A user's first session in the sandbox starts the CLI in that user's new, empty HOME.
    line("(i) a new user's first prompt", on.newUser, off.newUser);
  } finally {
    for (const s of [on, off]) {
      s.client.close();
      await s.daemon.stop();
      await s.world.cleanup();
    }
  }
}

/**
 * Round trips over the control socket, against a minimal Node echo server as the speed limit. Both are
 * measured by the same client (the project's RpcClient, one request in flight per connection) in the
 * same run, in alternating rounds, so a busy machine slows both alike and the ratio stays meaningful.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connectAsAdmin } from '../core/bridge/admin-client.ts';
import { RpcClient } from '../core/bridge/rpc-client.ts';
import { bridgeMemoryBench } from './bridge-memory.ts';
import { startDaemonProcess, writeConfig } from '../test/support/daemon-process.ts';
import { createWorld } from '../test/support/harness.ts';

const CONCURRENCIES = [1, 16];
const ROUNDS = Number(process.env.BENCH_BRIDGE_ROUNDS ?? 8);
const ROUND_MS = Number(process.env.BENCH_BRIDGE_ROUND_MS ?? 750);
const WARMUP_MS = 1000;
/** USER_HZ, which Linux fixes at 100 for /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Newline-delimited JSON-RPC with nothing else: parse the line, answer `{}` for its id. Run in its
 * own process, as the daemon is, so neither shares a thread with the client.
 */
const ECHO_SERVER_SOURCE = `
const net = require('node:net');
const server = net.createServer((socket) => {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\\n')) !== -1) {
      const request = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      socket.write(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: {} }) + '\\n');
    }
  });
  socket.on('error', () => {});
});
server.listen(process.argv[1], () => process.stdout.write('listening\\n'));
`;

/** One server under test: how to open an (authenticated) connection and what to call on it. */
interface Target {
  readonly connect: () => Promise<RpcClient>;
  readonly method: string;
  /** The server's process, whose CPU time each round adds up. */
  readonly pid: number;
}

/** What the rounds of one target added up to. */
class Tally {
  seconds = 0;
  serverCpuSeconds = 0;
  readonly latencies: number[] = [];

  get perSecond(): number {
    return this.latencies.length / this.seconds;
  }

  /** The server's CPU time per round trip, in microseconds: what it costs, however busy the machine is. */
  get serverCpuMicroseconds(): number {
    return (this.serverCpuSeconds / this.latencies.length) * 1e6;
  }

  add(other: Tally): void {
    this.seconds += other.seconds;
    this.serverCpuSeconds += other.serverCpuSeconds;
    for (const latency of other.latencies) this.latencies.push(latency);
  }
}

export async function bridgeBench(): Promise<void> {
  const world = await createWorld('bench-bridge');
  const daemon = await startDaemonProcess(world, ['--config', writeConfig(world)]);
  const echoSocket = path.join(world.root, 'echo.sock');
  const echo = await startEchoServer(echoSocket);
  const daemonTarget: Target = { connect: () => connectAsAdmin(world.stateDir), method: 'daemon.ping', pid: daemon.child.pid! };
  const echoTarget: Target = { connect: () => RpcClient.connect(echoSocket), method: 'ping', pid: echo.pid! };
  try {
    console.log(`(e) bridge: ${ROUNDS} rounds of ${ROUND_MS} ms per server, alternating which goes first; one call in flight per connection`);
    for (const concurrency of CONCURRENCIES) {
      const { daemon: ours, echo: limit, ratios } = await compare(daemonTarget, echoTarget, concurrency);
      const label = `${String(concurrency).padStart(2)} client${concurrency === 1 ? ' ' : 's'}`;
      console.log(`    ${label}  daemon ${describe(ours)}`);
      console.log(`    ${label}  echo   ${describe(limit)}`);
      const sorted = [...ratios].sort((a, b) => a - b);
      console.log(
        `    ${label}  ratio daemon/echo ${(ours.perSecond / limit.perSecond).toFixed(2)} overall, ${percentile(sorted, 50).toFixed(2)} median of rounds (${sorted[0]!.toFixed(2)} to ${sorted.at(-1)!.toFixed(2)})`,
      );
    }
    await bridgeMemoryBench(world.stateDir, daemon.child.pid!);
  } finally {
    echo.kill();
    await daemon.stop();
    await world.cleanup();
  }
}

/**
 * Both servers with `concurrency` connections each, round after round; each round measures both,
 * one right after the other, so the per-round ratio compares them under the same load.
 */
async function compare(ours: Target, limit: Target, concurrency: number): Promise<{ daemon: Tally; echo: Tally; ratios: number[] }> {
  const connect = (target: Target): Promise<RpcClient[]> => Promise.all(Array.from({ length: concurrency }, () => target.connect()));
  const [ourClients, limitClients] = await Promise.all([connect(ours), connect(limit)]);
  try {
    await hammer(ours, ourClients, WARMUP_MS, new Tally());
    await hammer(limit, limitClients, WARMUP_MS, new Tally());
    const total = { daemon: new Tally(), echo: new Tally(), ratios: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const ourRound = new Tally();
      const limitRound = new Tally();
      const runs = [() => hammer(ours, ourClients, ROUND_MS, ourRound), () => hammer(limit, limitClients, ROUND_MS, limitRound)];
      for (const run of round % 2 === 0 ? runs : runs.reverse()) await run();
      total.daemon.add(ourRound);
      total.echo.add(limitRound);
      total.ratios.push(ourRound.perSecond / limitRound.perSecond);
    }
    return total;
  } finally {
    for (const client of [...ourClients, ...limitClients]) client.close();
  }
}

/** Every client calls in a loop, one call at a time, until the time is up. */
async function hammer(target: Target, clients: readonly RpcClient[], durationMs: number, tally: Tally): Promise<void> {
  const cpuBefore = cpuSeconds(target.pid);
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() - started < durationMs) {
        const sent = performance.now();
        await client.call(target.method, {});
        tally.latencies.push(performance.now() - sent);
      }
    }),
  );
  tally.seconds += (performance.now() - started) / 1000;
  tally.serverCpuSeconds += cpuSeconds(target.pid) - cpuBefore;
}

/** User and system time of a process so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

function describe(tally: Tally): string {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return `${tally.perSecond.toFixed(0).padStart(6)} round trips/s   p50 ${percentile(sorted, 50).toFixed(2)} ms   p99 ${percentile(sorted, 99).toFixed(2)} ms   server CPU ${tally.serverCpuMicroseconds.toFixed(1)} µs per round trip`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function startEchoServer(socketPath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', ECHO_SERVER_SOURCE, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the echo server exited with ${code}`)));
    child.stdout!.once('data', () => resolve());
  });
  return child;
}

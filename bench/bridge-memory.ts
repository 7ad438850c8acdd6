/**
 * What hostile or careless clients of the control socket cost the daemon in memory: its resident size
 * at rest, and its peak while (a) 400 unauthenticated connections each send 1 MB without a newline and
 * (b) one authenticated client writes 27 MB of requests and reads no answer.
 */
import net from 'node:net';
import { readAdminToken } from '../core/bridge/admin-token.ts';
import { daemonPaths } from '../core/config/paths.ts';
import { rssKiB } from '../test/support/processes.ts';

const FLOOD_CONNECTIONS = 400;
const FLOOD_BYTES = 1024 * 1024;
const UNREAD_REQUEST_BYTES = 27 * 1024 * 1024;
/** How long each client is left to do its worst. */
const HOLD_MS = 3000;

export async function bridgeMemoryBench(stateDir: string, daemonPid: number): Promise<void> {
  const socketPath = daemonPaths(stateDir).socket;
  const atRest = rssKiB(daemonPid);
  console.log(`(e2) bridge memory: daemon RSS ${mib(atRest)} at rest`);
  const flood = await peakWhile(daemonPid, () => junkFlood(socketPath));
  console.log(`    ${FLOOD_CONNECTIONS} unauthenticated connections × 1 MB without a newline: peak ${mib(flood)} (${signedMib(flood - atRest)})`);
  const before = rssKiB(daemonPid);
  const unread = await peakWhile(daemonPid, () => unreadClient(socketPath, readAdminToken(stateDir)));
  console.log(`    one client writing 27 MB of daemon.ping, reading no answer: peak ${mib(unread)} (${signedMib(unread - before)})`);
}

async function peakWhile(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = rssKiB(pid);
  const sampling = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 10);
  try {
    await work();
  } finally {
    clearInterval(sampling);
  }
  return Math.max(peak, rssKiB(pid));
}

/** Every connection sends its junk and stays until the daemon closes it or the time is up. */
async function junkFlood(socketPath: string): Promise<void> {
  const junk = Buffer.alloc(FLOOD_BYTES, 0x61);
  await Promise.all(
    Array.from({ length: FLOOD_CONNECTIONS }, () =>
      new Promise<void>((resolve) => {
        const socket = net.connect(socketPath);
        const done = (): void => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        };
        const timer = setTimeout(done, HOLD_MS);
        socket.on('connect', () => socket.write(junk));
        socket.on('data', () => undefined);
        socket.on('error', done);
        socket.on('close', done);
      }),
    ),
  );
}

/** Authenticates, then writes requests without ever reading, for a while. */
async function unreadClient(socketPath: string, token: string): Promise<void> {
  const socket = net.connect(socketPath);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'auth', params: { token } })}\n`);
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  const line = (id: number): string => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'daemon.ping' })}\n`;
  const perLine = Buffer.byteLength(line(1_000_000));
  const lines: string[] = [];
  for (let id = 1; id * perLine <= UNREAD_REQUEST_BYTES; id += 1) lines.push(line(1_000_000 + id));
  socket.write(lines.join(''));
  await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
  socket.destroy();
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}

function signedMib(kib: number): string {
  return `${kib >= 0 ? '+' : '-'}${Math.abs(kib / 1024).toFixed(0)} MiB`;
}

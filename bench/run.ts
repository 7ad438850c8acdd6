/**
 * Benchmarks of the session engine against the stand-in model API. Prints figures; asserts nothing.
 *
 *   npm run bench            all
 *   npm run bench -- latency only the stream-to-callback delay (fast)
 *   npm run bench -- bridge  only the control socket: round trips against a minimal echo server, and
 *                            the daemon's memory under a junk flood and a client that reads nothing
 *   npm run bench -- tools   only what extensions' tools cost a session (f, g, h)
 *   npm run bench -- sandbox only what the sandbox costs a prompt (i)
 *   npm run bench -- many    200 sessions, most idle, and the memory they take (j)
 *   npm run bench -- idle    the memory of idle sessions
 *   npm run bench -- memory  the memory extension's index: search over 10,000 notes, rebuild, reindex
 *   npm run bench -- web     the HTTP API: submit -> first SSE event, 100 subscribers on a busy session (k)
 *
 * Each figure that has a baseline is a ratio against a bare `claude -p` run in the same process, so
 * the numbers mean the same on a slow and a fast machine.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { connectAsAdmin } from '../core/bridge/admin-client.ts';
import type { RpcClient } from '../core/bridge/rpc-client.ts';
import type { PromptRecord } from '../core/sessions/session-types.ts';
import { createWorld, waitFor, type TestWorld } from '../test/support/harness.ts';
import { startEngine } from '../test/support/engine-fixture.ts';
import { startDaemonProcess, writeConfig } from '../test/support/daemon-process.ts';
import { bridgeBench } from './bridge.ts';
import { extensionToolsBench } from './extension-tools.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

/** A bare `claude -p` run to completion, stdin closed as a script would run it. */
async function bareClaude(world: TestWorld, args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(world.claudePath, ['-p', ...args, '--output-format', 'stream-json', '--verbose', '--permission-mode', 'bypassPermissions'], {
    cwd: world.workDir,
    env: world.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.resume();
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`claude -p exited with ${code}`);
  return performance.now() - started;
}

async function promptThroughDaemon(client: RpcClient, params: Record<string, unknown>): Promise<{ ms: number; prompt: PromptRecord; sessionId: string }> {
  const started = performance.now();
  const answer = await client.call<{ prompt: PromptRecord; sessionId: string }>('prompt.submit', { ...params, follow: true });
  return { ms: performance.now() - started, prompt: answer.prompt, sessionId: answer.sessionId };
}

async function startupAndFollowUp(): Promise<void> {
  const world = await createWorld('bench-prompt');
  const config = writeConfig(world);
  const daemon = await startDaemonProcess(world, ['--config', config]);
  const client = await connectAsAdmin(world.stateDir);
  try {
    await bareClaude(world, ['@reply warm the page cache']);
    const bareFirst: number[] = [];
    const bareResume: number[] = [];
    const daemonFirst: number[] = [];
    const daemonFollow: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const conversation = crypto.randomUUID();
      bareFirst.push(await bareClaude(world, ['@reply first', '--session-id', conversation]));
      bareResume.push(await bareClaude(world, ['@reply again', '--resume', conversation]));
      const first = await promptThroughDaemon(client, { user: `bench${round}`, text: '@reply first' });
      daemonFirst.push(first.ms);
      daemonFollow.push((await promptThroughDaemon(client, { user: `bench${round}`, session: first.sessionId, text: '@reply again' })).ms);
    }
    const line = (name: string, daemonMs: number[], bareMs: number[]): void => {
      console.log(
        `${name.padEnd(34)} daemon ${median(daemonMs).toFixed(0).padStart(5)} ms   bare ${median(bareMs).toFixed(0).padStart(5)} ms   ratio ${(median(daemonMs) / median(bareMs)).toFixed(2)}`,
      );
    };
    console.log(`(a/b) medians over ${ROUNDS} rounds`);
    line('(a) first prompt vs claude -p', daemonFirst, bareFirst);
    line('(b) follow-up vs claude -p --resume', daemonFollow, bareResume);
  } finally {
    client.close();
    await daemon.stop();
    await world.cleanup();
  }
}

async function streamLatency(): Promise<void> {
  const world = await createWorld('bench-latency');
  const fx = await startEngine(world, {}, { record: false });
  const arrivals = new Map<string, number>();
  fx.engine.onDelivery((event) => {
    if (event.type === 'text') arrivals.set(event.text, performance.now());
  });
  const { session, prompt } = fx.engine.submit({ user: 'bench', text: '@wait 60000\n@reply never' });
  await waitFor('the turn to start', () => fs.existsSync(path.join(world.stateDir, 'sessions', session.id, 'stream.jsonl')) && fx.engine.getSession(session.id)?.status === 'busy');
  await waitFor('init', () => world.api.conversationRequests().length > 0);
  const stream = path.join(world.stateDir, 'sessions', session.id, 'stream.jsonl');
  const written = new Map<string, number>();
  const lines = 400;
  for (let i = 0; i < lines; i += 1) {
    const marker = `bench-line-${i}`;
    const line = `${JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: marker }] }, parent_tool_use_id: null })}\n`;
    written.set(marker, performance.now());
    fs.appendFileSync(stream, line);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await waitFor('every line delivered', () => arrivals.size >= lines, 10_000);
  const delays = [...written].map(([marker, at]) => (arrivals.get(marker) ?? NaN) - at);
  console.log(`(c) stream line -> callback            p50 ${percentile(delays, 50).toFixed(2)} ms   p99 ${percentile(delays, 99).toFixed(2)} ms   max ${Math.max(...delays).toFixed(2)} ms   (${lines} lines)`);
  await fx.engine.stop(session.id);
  await fx.engine.waitForPrompt(session.id, prompt.id);
  await fx.engine.terminateAll();
  await fx.engine.close();
  await world.cleanup();
}

async function idleMemory(): Promise<void> {
  const world = await createWorld('bench-memory');
  const config = writeConfig(world);
  const daemon = await startDaemonProcess(world, ['--config', config]);
  const client = await connectAsAdmin(world.stateDir);
  try {
    const before = rssKiB(daemon.child.pid ?? 0);
    for (let i = 0; i < 20; i += 1) await promptThroughDaemon(client, { user: `user${i}`, text: '@reply hello' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = rssKiB(daemon.child.pid ?? 0);
    const claudeRss = await claudeProcessesRssKiB(world);
    console.log(
      `(d) daemon RSS with 20 idle warm sessions  ${(after / 1024).toFixed(1)} MiB (at start ${(before / 1024).toFixed(1)} MiB); the 20 claude processes together ${(claudeRss / 1024).toFixed(0)} MiB`,
    );
  } finally {
    client.close();
    await daemon.stop();
    await world.cleanup();
  }
}

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function claudeProcessesRssKiB(world: TestWorld): Promise<number> {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      // Sessions' HOME is in the world (the user's own one in the sandbox).
      const home = environ.split('\0').find((entry) => entry.startsWith('HOME=')) ?? '';
      if (cmdline.includes('claude') && home.startsWith(`HOME=${world.root}/`)) total += rssKiB(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

const only = process.argv[2];
if (!only || only === 'prompt') await startupAndFollowUp();
if (!only || only === 'latency') await streamLatency();
if (!only || only === 'idle') await idleMemory();
if (!only || only === 'bridge') await bridgeBench();
if (!only || only === 'tools') await extensionToolsBench();
if (!only || only === 'sandbox') await (await import('./sandbox.ts')).sandboxBench();
if (!only || only === 'many') await (await import('./many-sessions.ts')).manySessionsBench();
if (!only || only === 'cli') await (await import('./cli.ts')).cliBench();
if (!only || only === 'memory') await (await import('./memory-notes.ts')).memoryNotesBench();
if (!only || only === 'web') await (await import('./web.ts')).webBench();

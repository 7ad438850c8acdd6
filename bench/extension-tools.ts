/**
 * What extensions' tools cost a session, every bundled extension enabled:
 *   (f) an idle session's whole process tree against a bare `claude` process, both after one answer;
 *   (g) a first prompt against a bare `claude -p` without MCP;
 *   (h) a tool round trip (the model asks, the result is back), daemon-served against stdio.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connectAsAdmin } from '../core/bridge/admin-client.ts';
import { daemonPaths } from '../core/config/paths.ts';
import type { RpcClient } from '../core/bridge/rpc-client.ts';
import type { PromptRecord } from '../core/sessions/session-types.ts';
import { startDaemonProcess, writeConfig } from '../test/support/daemon-process.ts';
import { startFakeTelegram } from '../test/support/fake-telegram.ts';
import { createWorld, type TestWorld } from '../test/support/harness.ts';
import { processTree, rssKiB } from '../test/support/processes.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TOOL_CALLS = 20;
const TOOL_ROUNDS = 3;
const BOT_TOKEN = '123456:bench-token';

/** One extension with the same tool served both ways, for (h). */
const ROUND_TRIP_EXTENSION = `
import path from 'node:path';
import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
export default {
  name: 'roundtrip',
  start(ctx) {
    ctx.addBridgeMethod('ping', { params: z.object({}) }, () => 'pong');
    ctx.addTools({ server: 'rt_daemon', tools: [defineTool({ name: 'ping', description: 'pong', input: {}, handler: (_a, c) => c.bridge.call('roundtrip.ping', {}, { signal: c.signal }) })] });
    ctx.addMcpServer({ name: 'rt_stdio', script: path.join(ctx.extensionDir, 'server.ts') });
  },
};
`;
const ROUND_TRIP_SERVER = `
import { defineTool, runMcpServer } from 'claude-ext/mcp';
await runMcpServer({ name: 'rt_stdio', tools: [defineTool({ name: 'ping', description: 'pong', input: {}, handler: (_a, c) => c.bridge.call('roundtrip.ping', {}, { signal: c.signal }) })] });
`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const median = (values: number[]): number => percentile(values, 50);

async function submit(client: RpcClient, params: Record<string, unknown>): Promise<{ ms: number; sessionId: string; prompt: PromptRecord }> {
  const started = performance.now();
  const answer = await client.call<{ prompt: PromptRecord; sessionId: string }>('prompt.submit', { ...params, follow: true });
  if (answer.prompt.result?.outcome !== 'success') throw new Error(`the prompt failed: ${JSON.stringify(answer.prompt.result)}`);
  return { ms: performance.now() - started, sessionId: answer.sessionId, prompt: answer.prompt };
}

/** `claude -p` to completion without MCP, as a script runs it. */
async function bareFirstPrompt(world: TestWorld): Promise<number> {
  const started = performance.now();
  const child = spawn(world.claudePath, ['-p', '@reply first', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'bypassPermissions'], {
    cwd: world.workDir,
    env: world.env,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`claude -p exited with ${code}`);
  return performance.now() - started;
}

/** A bare long-lived `claude` (stream-json in and out, no MCP) after one answer: its RSS. */
async function bareIdleRssKiB(world: TestWorld): Promise<number> {
  const child = spawn(world.claudePath, ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'bypassPermissions'], {
    cwd: world.workDir,
    env: world.env,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let out = '';
  const answered = new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"type":"result"')) resolve();
    }),
  );
  child.stdin.write(`${JSON.stringify({ type: 'user', message: { role: 'user', content: '@reply hello' } })}\n`);
  await answered;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const rss = processTree([child.pid ?? 0]).reduce((sum, p) => sum + p.rssKiB, 0);
  child.kill('SIGKILL');
  return rss;
}

/** Everything a session's tmux pane runs: the launch shell, the input feeder, claude, MCP servers. */
function sessionTreeRssKiB(world: TestWorld, sessionId: string): number {
  const pane = Number(execFileSync('tmux', ['-S', daemonPaths(world.stateDir).tmuxSocket, 'list-panes', '-t', sessionId, '-F', '#{pane_pid}'], { encoding: 'utf8' }).trim());
  return processTree([pane]).reduce((sum, p) => sum + p.rssKiB, 0);
}

/** Gaps between the model requests of one turn of tool calls: each is one tool round trip. */
async function toolRoundTrips(world: TestWorld, client: RpcClient, user: string, tool: string): Promise<number[]> {
  await submit(client, { user, text: `@tool ${tool} {}\n@reply warm` });
  const from = world.api.requests.length;
  await submit(client, { user, text: `${`@tool ${tool} {}\n`.repeat(TOOL_CALLS)}@reply done` });
  const times = world.api.requests.slice(from).filter((r) => r.body?.messages !== undefined).map((r) => r.receivedAt);
  return times.slice(1).map((at, i) => at - (times[i] as number));
}

export async function extensionToolsBench(): Promise<void> {
  const world = await createWorld('bench-tools');
  const telegram = await startFakeTelegram({ token: BOT_TOKEN });
  const extensionsDir = path.join(world.root, 'extensions');
  fs.mkdirSync(path.join(extensionsDir, 'roundtrip'), { recursive: true });
  fs.writeFileSync(path.join(extensionsDir, 'roundtrip', 'extension.ts'), ROUND_TRIP_EXTENSION);
  fs.writeFileSync(path.join(extensionsDir, 'roundtrip', 'server.ts'), ROUND_TRIP_SERVER);
  const bundled = 'vault, ask_user, cron, heartbeat, telegram';
  const config = writeConfig(
    world,
    ['  max_per_user: 64', `extensions_dirs: [${extensionsDir}]`, `enabled: [${bundled}]`, 'extensions:', '  telegram:', `    token: ${BOT_TOKEN}`, '    allowed_users: [1]', `    api_root: ${telegram.apiRoot}`, ''].join('\n'),
  );
  let daemon = await startDaemonProcess(world, ['--config', config]);
  let client = await connectAsAdmin(world.stateDir);
  try {
    await bareFirstPrompt(world);
    const bare: number[] = [];
    const first: number[] = [];
    const idle: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      bare.push(await bareFirstPrompt(world));
      // The heartbeat's user, so the session gets the tools of every bundled extension but telegram's
      // (which only Telegram's own sessions get).
      const run = await submit(client, { user: 'local', new: true, text: '@reply first' });
      first.push(run.ms);
      idle.push(run.sessionId);
    }
    const bareRss: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) bareRss.push(await bareIdleRssKiB(world));
    const trees = idle.map((sessionId) => sessionTreeRssKiB(world, sessionId));
    const tree = median(trees);
    const daemonRss = rssKiB(daemon.child.pid ?? 0);
    console.log(`(f/g) every bundled extension enabled (${bundled}); medians over ${ROUNDS} rounds`);
    console.log(
      `(f) idle session, whole process tree    ${(tree / 1024).toFixed(0).padStart(5)} MiB   bare claude ${(median(bareRss) / 1024).toFixed(0).padStart(5)} MiB   ratio ${(tree / median(bareRss)).toFixed(2)}   (medians of ${ROUNDS}; daemon ${(daemonRss / 1024).toFixed(0)} MiB)`,
    );
    console.log(
      `(g) first prompt vs claude -p, no MCP    daemon ${median(first).toFixed(0).padStart(5)} ms   bare ${median(bare).toFixed(0).padStart(5)} ms   ratio ${(median(first) / median(bare)).toFixed(2)}`,
    );

    client.close();
    await daemon.stop();
    const withRoundTrip = fs.readFileSync(config, 'utf8').replace(`enabled: [${bundled}]`, `enabled: [${bundled}, roundtrip]`);
    fs.writeFileSync(config, withRoundTrip);
    daemon = await startDaemonProcess(world, ['--config', config]);
    client = await connectAsAdmin(world.stateDir);
    // Alternating, so that a machine slowing down or speeding up weighs on both alike.
    const served: number[] = [];
    const stdio: number[] = [];
    for (let round = 0; round < TOOL_ROUNDS; round += 1) {
      served.push(...(await toolRoundTrips(world, client, `rt-daemon-${round}`, 'mcp__rt_daemon__ping')));
      stdio.push(...(await toolRoundTrips(world, client, `rt-stdio-${round}`, 'mcp__rt_stdio__ping')));
    }
    const line = (name: string, gaps: number[]): string => `p50 ${percentile(gaps, 50).toFixed(1).padStart(5)} ms   p99 ${percentile(gaps, 99).toFixed(1).padStart(5)} ms   (${name})`;
    console.log(`(h) tool round trip, daemon-served       ${line(`${served.length} calls`, served)}`);
    console.log(`    the same tool over stdio             ${line(`${stdio.length} calls`, stdio)}   ratio of p50 ${(median(served) / median(stdio)).toFixed(2)}`);
  } finally {
    client.close();
    await daemon.stop();
    await telegram.close();
    await world.cleanup();
  }
}

/**
 * What starting `claude-ext` costs, the built JavaScript that `bin` runs, against a bare `node -e 0`:
 *   (i) wall time of `claude-ext help`, and of `claude-ext status` against a running daemon (goal: at most 2x);
 *   (j) peak memory (max RSS) of those commands (goal: under 60 MB);
 *   (k) a daemon's start until it answers its first `status`: built, against the sources through tsx;
 *   (l) a daemon's start with one small external extension written in TypeScript, against the same in JavaScript.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectAsAdmin } from '../core/bridge/admin-client.ts';
import { CLI, writeConfig } from '../test/support/daemon-process.ts';
import { createWorld, killTmuxServer, waitFor, type TestWorld } from '../test/support/harness.ts';
import { daemonPaths } from '../core/config/paths.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAIRS = Number(process.env.BENCH_CLI_PAIRS ?? 11);
const STARTS = Number(process.env.BENCH_ROUNDS ?? 5);

/** How each variant runs `claude-ext`: what users run, and the sources as `bin` ran them before the build. */
const BUILT = [CLI];
const SOURCES = ['--import', pathToFileURL(path.join(ROOT, 'bin/register-hooks.mjs')).href, path.join(ROOT, 'main.ts')];

/** A preload that writes the process's max RSS (KiB) to $BENCH_MAX_RSS_FILE as it exits. */
const REPORT_MAX_RSS = `data:text/javascript,${encodeURIComponent(
  "import fs from 'node:fs'; process.on('exit', () => fs.writeFileSync(process.env.BENCH_MAX_RSS_FILE, String(process.resourceUsage().maxRSS)));",
)}`;

/** One small extension, the same code in TypeScript and in JavaScript, for (l). */
const SMALL_EXTENSION = {
  ts: `
import { z } from 'zod';
import type { Extension } from 'claude-ext/extension';

const schema = z.object({ greeting: z.string().default('hello') });

export default (): Extension<z.output<typeof schema>> => ({
  name: 'small',
  configSchema: schema,
  start(ctx) {
    ctx.addBridgeMethod('greet', { params: z.object({}) }, () => ctx.config.greeting);
  },
});
`,
  js: `
import { z } from 'zod';

const schema = z.object({ greeting: z.string().default('hello') });

export default () => ({
  name: 'small',
  configSchema: schema,
  start(ctx) {
    ctx.addBridgeMethod('greet', { params: z.object({}) }, () => ctx.config.greeting);
  },
});
`,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

/** Runs `node ARGS` to its end; its wall time in ms. */
async function runNode(world: TestWorld, args: string[], env: NodeJS.ProcessEnv = world.env): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: world.root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`);
  return performance.now() - started;
}

async function maxRssKiB(world: TestWorld, args: string[]): Promise<number> {
  const file = path.join(world.root, 'max-rss');
  await runNode(world, ['--import', REPORT_MAX_RSS, ...args], { ...world.env, BENCH_MAX_RSS_FILE: file });
  return Number(fs.readFileSync(file, 'utf8'));
}

/** (i) and (j): each round runs the baseline and every command once, so a busy moment hits them alike. */
async function cliCommands(): Promise<void> {
  const world = await createWorld('bench-cli');
  const config = writeConfig(world);
  const commands: Record<string, string[]> = { help: [CLI, 'help'], status: [CLI, 'status', '--config', config] };
  const daemon = await startDaemon(world, BUILT, config);
  try {
    const baseline = ['-e', '0'];
    await runNode(world, baseline);
    for (const args of Object.values(commands)) await runNode(world, args);
    const times: Record<string, number[]> = { node: [], help: [], status: [] };
    const ratios: Record<string, number[]> = { help: [], status: [] };
    for (let pair = 0; pair < PAIRS; pair += 1) {
      const bare = await runNode(world, baseline);
      times.node?.push(bare);
      for (const [name, args] of Object.entries(commands)) {
        const ms = await runNode(world, args);
        times[name]?.push(ms);
        ratios[name]?.push(ms / bare);
      }
    }
    console.log(`(i) wall time, medians of ${PAIRS} paired runs (goal: at most 2x node -e 0)`);
    console.log(`    node -e 0                        ${median(times.node ?? []).toFixed(0).padStart(5)} ms`);
    for (const name of Object.keys(commands)) {
      console.log(`    claude-ext ${name.padEnd(22)}${median(times[name] ?? []).toFixed(0).padStart(5)} ms   ratio ${median(ratios[name] ?? []).toFixed(2)}`);
    }
    const bareRss = await maxRssKiB(world, baseline);
    console.log(`(j) peak memory (max RSS) (goal: under 60 MB)`);
    console.log(`    node -e 0                        ${mib(bareRss).padStart(9)}`);
    for (const [name, args] of Object.entries(commands)) {
      const rss = await maxRssKiB(world, args);
      console.log(`    claude-ext ${name.padEnd(22)}${mib(rss).padStart(9)}   ratio ${(rss / bareRss).toFixed(2)}`);
    }
  } finally {
    await daemon.stop();
    await world.cleanup();
  }
}

interface StartedDaemon {
  /** From the spawn to the first answered status (with the extension running, when one is waited for). */
  readonly ms: number;
  /** The daemon's peak RSS (VmHWM) up to then. */
  readonly peakKiB: number;
  stop(): Promise<void>;
}

/** Starts `node RUN start --config FILE` and waits until its status answers (and shows `extension` running). */
async function startDaemon(world: TestWorld, run: string[], config: string, options: { extension?: string; env?: NodeJS.ProcessEnv } = {}): Promise<StartedDaemon> {
  const started = performance.now();
  const child = spawn(process.execPath, [...run, 'start', '--config', config], { cwd: world.root, env: options.env ?? world.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = async (): Promise<boolean> => {
    if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}: ${stderr}`);
    const client = await connectAsAdmin(world.stateDir, { timeoutMs: 10_000 }).catch(() => undefined);
    if (!client) return false;
    try {
      const status = await client.call<{ extensions: { name: string; state: string; health: { reason?: string } }[] }>('daemon.status', {});
      if (!options.extension) return true;
      const extension = status.extensions.find((e) => e.name === options.extension);
      if (extension?.state === 'failed') throw new Error(`extension ${options.extension} failed: ${extension.health.reason}`);
      return extension?.state === 'running';
    } finally {
      client.close();
    }
  };
  try {
    await waitFor(`the daemon to answer status (stderr so far: ${stderr})`, ready, 60_000);
  } catch (error) {
    // A daemon that never became ready must not outlive the benchmark.
    if (child.exitCode === null) child.kill('SIGKILL');
    killTmuxServer(daemonPaths(world.stateDir).tmuxSocket);
    throw error;
  }
  const ms = performance.now() - started;
  const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN);
  return {
    ms,
    peakKiB,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      killTmuxServer(daemonPaths(world.stateDir).tmuxSocket);
    },
  };
}

/** Starts and stops each variant in turn, `STARTS` times; the medians of time and peak memory. */
async function pairedStarts(world: TestWorld, variants: Record<string, { run: string[]; config: string; extension?: string; env?: NodeJS.ProcessEnv }>) {
  const results = Object.fromEntries(Object.keys(variants).map((name) => [name, { ms: [] as number[], peakKiB: [] as number[] }]));
  for (let round = 0; round < STARTS; round += 1) {
    for (const [name, variant] of Object.entries(variants)) {
      const daemon = await startDaemon(world, variant.run, variant.config, variant);
      await daemon.stop();
      results[name]?.ms.push(daemon.ms);
      results[name]?.peakKiB.push(daemon.peakKiB);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([name, r]) => [name, { ms: median(r.ms), peakKiB: median(r.peakKiB) }]));
}

/** (k): the built daemon against the sources through tsx, its cache warm (a second start) and cold (a fresh clone). */
async function daemonStart(): Promise<void> {
  const world = await createWorld('bench-start');
  const config = writeConfig(world);
  try {
    const starts = await pairedStarts(world, {
      built: { run: BUILT, config },
      sources: { run: SOURCES, config },
      cold: { run: SOURCES, config, env: { ...world.env, TSX_DISABLE_CACHE: '1' } },
    });
    const built = starts.built as { ms: number; peakKiB: number };
    console.log(`(k) daemon start to its first answered status, medians of ${STARTS} starts`);
    for (const [name, label] of [
      ['built', 'built (dist/)'],
      ['sources', 'sources through tsx, warm cache'],
      ['cold', 'sources through tsx, cold'],
    ] as const) {
      const start = starts[name] as { ms: number; peakKiB: number };
      const ratio = name === 'built' ? '' : `   built is ${(start.ms / built.ms).toFixed(1)}x faster, ${mib(start.peakKiB - built.peakKiB)} smaller`;
      console.log(`    ${label.padEnd(33)}${start.ms.toFixed(0).padStart(6)} ms   peak ${mib(start.peakKiB).padStart(9)}${ratio}`);
    }
  } finally {
    await world.cleanup();
  }
}

/** (l): what loading an extension through tsx adds to a start, against the same extension in JavaScript. */
async function typeScriptExtension(): Promise<void> {
  const world = await createWorld('bench-ts-extension');
  try {
    const configs: Record<string, string> = {};
    for (const language of ['ts', 'js'] as const) {
      const dir = path.join(world.root, `extensions-${language}`, 'small');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `extension.${language}`), SMALL_EXTENSION[language]);
      configs[language] = path.join(world.root, `config-${language}.yaml`);
      fs.writeFileSync(configs[language], `state_dir: ${world.stateDir}\nextensions_dirs: [${path.dirname(dir)}]\nenabled: [small]\n`);
    }
    const starts = await pairedStarts(world, {
      js: { run: BUILT, config: configs.js as string, extension: 'small' },
      ts: { run: BUILT, config: configs.ts as string, extension: 'small' },
    });
    const js = starts.js as { ms: number; peakKiB: number };
    const ts = starts.ts as { ms: number; peakKiB: number };
    console.log(`(l) built daemon start until one small external extension runs, medians of ${STARTS} starts`);
    console.log(`    extension.js                     ${js.ms.toFixed(0).padStart(6)} ms   peak ${mib(js.peakKiB).padStart(9)}`);
    console.log(`    extension.ts (tsx on demand)     ${ts.ms.toFixed(0).padStart(6)} ms   peak ${mib(ts.peakKiB).padStart(9)}   +${(ts.ms - js.ms).toFixed(0)} ms, +${mib(ts.peakKiB - js.peakKiB)}`);
  } finally {
    await world.cleanup();
  }
}

export async function cliBench(): Promise<void> {
  await cliCommands();
  await daemonStart();
  await typeScriptExtension();
}

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, type TestWorld } from './harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin', 'claude-ext.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Writes a config.yaml for the world (state dir, work dir) plus extra YAML, and returns its path. */
export function writeConfig(world: TestWorld, extra = ''): string {
  const file = path.join(world.root, 'config.yaml');
  fs.writeFileSync(file, `state_dir: ${world.stateDir}\nsessions:\n  default_cwd: ${world.workDir}\n${extra}`);
  return file;
}

/** Runs `claude-ext ARGS` as a user would, with the world's environment. */
export function runCli(world: TestWorld, args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? world.root, env: options.env ?? world.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`claude-ext ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const started = new Set<DaemonProcess>();

/** Stops every daemon a test started and left running (after a failed assertion, say). */
export async function stopStartedDaemons(): Promise<void> {
  await Promise.all([...started].map((daemon) => daemon.stop()));
}

/** Starts `claude-ext start` in the background and waits until it answers. */
export async function startDaemonProcess(world: TestWorld, args: string[], env: NodeJS.ProcessEnv = world.env): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { cwd: world.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(`the daemon to start (output so far: ${output})`, () => output.includes('daemon started') || child.exitCode !== null, 30_000);
  if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}: ${output}`);
  void exited.then(() => started.delete(daemon));
  const daemon: DaemonProcess = {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  started.add(daemon);
  return daemon;
}

export function readEventLog(world: TestWorld): { type: string; [key: string]: unknown }[] {
  const file = path.join(world.stateDir, 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string });
}

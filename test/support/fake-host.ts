/**
 * A session host that runs nothing: a test plays the CLI by writing its stream lines itself, and says
 * when a process exits or vanishes. Processes outlive an engine, as tmux sessions outlive the daemon,
 * so one host can serve an engine and the next one started on the same state dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClaudeEngine, type EngineOptions, type EngineSettings } from '../../core/sessions/engine.ts';
import type { EngineEvent } from '../../core/sessions/events.ts';
import { EventLog } from '../../core/sessions/event-log.ts';
import type { LaunchSpec, SessionHost } from '../../core/sessions/host/host.ts';
import type { PromptRecord } from '../../core/sessions/session-types.ts';
import { ensurePrivateDir } from '../../core/util/files.ts';
import { createLogger } from '../../core/util/log.ts';
import { afterEach, beforeEach } from 'node:test';
import { engineSettingsFor } from './engine-fixture.ts';

type Json = Record<string, unknown>;

export class FakeHost implements SessionHost {
  readonly kind = 'fake';
  readonly launches: LaunchSpec[] = [];
  /** Every terminate call, in order (the engine also calls it before each launch). */
  readonly terminations: string[] = [];
  private readonly alive = new Set<string>();

  async launch(spec: LaunchSpec): Promise<void> {
    this.launches.push(spec);
    this.alive.add(spec.name);
  }

  async isRunning(name: string): Promise<boolean> {
    return this.alive.has(name);
  }

  async terminate(name: string): Promise<void> {
    this.terminations.push(name);
    this.alive.delete(name);
  }

  async running(): Promise<Set<string>> {
    return new Set(this.alive);
  }

  /** The process disappears without a word, as when its tmux server is killed. */
  vanish(name: string): void {
    this.alive.delete(name);
  }

  /** The process ends by itself: the launch script writes its exit code to the exit marker. */
  exit(name: string, code: number): void {
    this.alive.delete(name);
    fs.writeFileSync(this.spec(name).exitPath, `${code}\n`);
  }

  /** The CLI writes these lines to its stream. */
  write(name: string, ...lines: Json[]): void {
    fs.appendFileSync(this.spec(name).outputPath, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  }

  /** What the process has been sent on its stdin, one parsed line each. */
  input(name: string): Json[] {
    const spec = this.spec(name);
    const text = fs.readFileSync(spec.inputPath, 'utf8').slice(spec.inputOffset);
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Json);
  }

  /** The id of the newest interrupt the process was sent. */
  lastInterruptId(name: string): string {
    const interrupt = this.input(name).filter((line) => line.type === 'control_request').at(-1);
    if (!interrupt) throw new Error(`${name} was sent no interrupt`);
    return String(interrupt.request_id);
  }

  spec(name: string): LaunchSpec {
    const spec = this.launches.filter((launch) => launch.name === name).at(-1);
    if (!spec) throw new Error(`${name} was never launched`);
    return spec;
  }
}

/** Stream lines as the CLI writes them with `--output-format stream-json --verbose`. */
export const cli = {
  init: (): Json => ({ type: 'system', subtype: 'init', model: 'claude-test', tools: ['Bash'], mcp_servers: [], cwd: '/work' }),
  text: (text: string): Json => ({ type: 'assistant', message: { content: [{ type: 'text', text }] }, parent_tool_use_id: null }),
  result: (text: string, options: { subtype?: string; isError?: boolean; totalCostUsd?: number } = {}): Json => ({
    type: 'result',
    subtype: options.subtype ?? 'success',
    is_error: options.isError ?? false,
    result: text,
    total_cost_usd: options.totalCostUsd ?? 0.01,
    duration_ms: 20,
    num_turns: 1,
    usage: { input_tokens: 10, output_tokens: 5 },
  }),
  /** How the CLI ends a turn it was told to interrupt. */
  interrupted: (): Json => ({ type: 'result', subtype: 'error_during_execution', is_error: true, result: '', total_cost_usd: 0.01, duration_ms: 20, num_turns: 1, usage: {} }),
  controlResponse: (requestId: string): Json => ({ type: 'control_response', response: { subtype: 'success', request_id: requestId } }),
};

/** A state dir, a work dir and a HOME for engines on a fake host. */
export interface FakeWorld {
  readonly root: string;
  readonly stateDir: string;
  readonly host: FakeHost;
  cleanup(): void;
}

/**
 * The engine's timers and watchers do not keep a process alive (in the daemon its socket does), so the
 * world keeps the test's event loop running until it is cleaned up.
 */
export function createFakeWorld(): FakeWorld {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-fake-'));
  const stateDir = path.join(root, 'state');
  ensurePrivateDir(stateDir);
  fs.mkdirSync(path.join(root, 'home'));
  const keepAlive = setInterval(() => undefined, 1000);
  return {
    root,
    stateDir,
    host: new FakeHost(),
    cleanup: () => {
      clearInterval(keepAlive);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface FakeEngine {
  readonly engine: ClaudeEngine;
  /** Every event handed to the delivery callback (when one was registered). */
  readonly events: EngineEvent[];
  readonly logLines: string[];
  /** Delivered results of one prompt. */
  resultsOf(promptId: string): Extract<EngineEvent, { type: 'result' }>[];
  /** The prompt once it has a result; fails after a while rather than waiting for ever. */
  finished(sessionId: string, promptId: string, timeoutMs?: number): Promise<PromptRecord>;
}

/** An engine on the world's fake host, recovered, with a delivery callback unless `record` is false. */
export async function startFakeEngine(
  world: FakeWorld,
  settings: Partial<EngineSettings> = {},
  options: { record?: boolean } & Partial<Pick<EngineOptions, 'holdDelivery' | 'redact' | 'frontendRetry' | 'ephemeralLingerMs'>> = {},
): Promise<FakeEngine> {
  const logLines: string[] = [];
  const engine = new ClaudeEngine({
    stateDir: world.stateDir,
    host: world.host,
    claudePath: '/fake/claude',
    settings: engineSettingsFor(world.root, settings),
    logger: createLogger({ level: 'debug', sinks: [{ write: (line) => logLines.push(line) }] }),
    eventLog: new EventLog({ file: path.join(world.stateDir, 'events.jsonl'), maxBytes: 10_000_000, keep: 1 }),
    baseEnv: { PATH: process.env.PATH, HOME: path.join(world.root, 'home') },
    pollIntervalMs: 50,
    ...(options.holdDelivery !== undefined ? { holdDelivery: options.holdDelivery } : {}),
    ...(options.redact ? { redact: options.redact } : {}),
    ...(options.frontendRetry ? { frontendRetry: options.frontendRetry } : {}),
    ...(options.ephemeralLingerMs !== undefined ? { ephemeralLingerMs: options.ephemeralLingerMs } : {}),
  });
  const events: EngineEvent[] = [];
  if (options.record !== false) engine.onDelivery((event) => void events.push(event));
  await engine.recover();
  return {
    engine,
    events,
    logLines,
    resultsOf: (promptId) => events.filter((e): e is Extract<EngineEvent, { type: 'result' }> => e.type === 'result' && e.promptId === promptId),
    finished: (sessionId, promptId, timeoutMs = 10_000) =>
      engine.waitForPrompt(sessionId, promptId, AbortSignal.timeout(timeoutMs)).catch((error: unknown) => {
        throw new Error(`prompt ${promptId} has no result after ${timeoutMs} ms (${(error as Error).message})`);
      }),
  };
}

/**
 * For a test file: a fresh fake world before each test, and after it every engine started with
 * `start` closed and the world removed.
 */
export function useFakeEngines(): { readonly world: FakeWorld; start(settings?: Partial<EngineSettings>, options?: Parameters<typeof startFakeEngine>[2]): Promise<FakeEngine> } {
  let world: FakeWorld | undefined;
  const engines: FakeEngine[] = [];
  beforeEach(() => {
    world = createFakeWorld();
  });
  afterEach(async () => {
    for (const fx of engines.splice(0)) await fx.engine.close();
    world?.cleanup();
  });
  return {
    get world(): FakeWorld {
      if (!world) throw new Error('the fake world exists only inside a test');
      return world;
    },
    async start(settings = {}, options = {}) {
      const fx = await startFakeEngine(this.world, settings, options);
      engines.push(fx);
      return fx;
    },
  };
}

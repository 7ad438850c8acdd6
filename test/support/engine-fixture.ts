import path from 'node:path';
import { ClaudeEngine, type EngineSettings } from '../../core/sessions/engine.ts';
import type { EngineEvent } from '../../core/sessions/events.ts';
import { EventLog } from '../../core/sessions/event-log.ts';
import { ensurePrivateDir } from '../../core/util/files.ts';
import { createLogger, type Logger, type LogSink } from '../../core/util/log.ts';
import { TmuxHost } from '../../core/sessions/host/tmux-host.ts';
import type { TestWorld } from './harness.ts';

export interface EngineFixture {
  readonly engine: ClaudeEngine;
  readonly host: TmuxHost;
  readonly events: EngineEvent[];
  readonly logLines: string[];
  readonly eventLogFile: string;
}

/** Engine settings for tests: quick to stop, a few sessions per user, no timeouts, `defaultCwd` given. */
export function engineSettingsFor(defaultCwd: string, overrides: Partial<EngineSettings> = {}): EngineSettings {
  return {
    permissionMode: 'bypassPermissions',
    model: null,
    partialMessages: false,
    extraArgs: [],
    env: {},
    interruptGraceMs: 5000,
    maxPerUser: 4,
    idleTimeoutMs: 0,
    maxWarm: 100,
    promptTimeoutMs: 0,
    defaultCwd,
    roots: { default: ['/'] },
    ...overrides,
  };
}

export function testSettings(world: TestWorld, overrides: Partial<EngineSettings> = {}): EngineSettings {
  return engineSettingsFor(world.workDir, overrides);
}

/** An engine on the world's state dir, recording every delivered event and log line. */
export async function startEngine(world: TestWorld, overrides: Partial<EngineSettings> = {}, options: { record?: boolean } = {}): Promise<EngineFixture> {
  ensurePrivateDir(world.stateDir);
  const logLines: string[] = [];
  const sink: LogSink = { write: (line) => logLines.push(line) };
  const logger: Logger = createLogger({ level: 'debug', sinks: [sink] });
  const eventLogFile = path.join(world.stateDir, 'events.jsonl');
  const host = new TmuxHost(path.join(world.stateDir, 'tmux.sock'));
  const engine = new ClaudeEngine({
    stateDir: world.stateDir,
    host,
    claudePath: world.claudePath,
    settings: testSettings(world, overrides),
    logger,
    eventLog: new EventLog({ file: eventLogFile, maxBytes: 10_000_000, keep: 2 }),
    baseEnv: world.env,
    pollIntervalMs: 500,
    ephemeralLingerMs: 300,
  });
  const events: EngineEvent[] = [];
  if (options.record !== false) engine.onDelivery((event) => void events.push(event));
  await engine.recover();
  return { engine, host, events, logLines, eventLogFile };
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { conversationArgs, interruptLine, userTurnLine, warmProcessArgs, type PermissionMode } from './claude/claude-args.ts';
import { adoptTranscript, conversationStored } from './claude/transcripts.ts';
import type { Delivery } from './delivery.ts';
import type { EngineSettings } from './engine-settings.ts';
import type { EventLog } from './event-log.ts';
import type { SessionHost } from './host/host.ts';
import type { Liveness } from './liveness.ts';
import type { SandboxLaunch, SessionSandbox } from './sandbox/session-sandbox.ts';
import { sessionEnvironment } from './session-env.ts';
import type { SessionRuntime } from './session-runtime.ts';
import type { SessionStore } from './session-store.ts';
import type { PromptOptions, PromptRecord, SessionState, SessionSummary } from './session-types.ts';
import { Turn } from './turn.ts';
import { resultOfKilledTurn, syntheticResult } from './turn-results.ts';
import type { TurnTracker } from './turn-tracker.ts';
import { InvalidRequestError } from '../util/errors.ts';
import { appendPrivate, fileSize } from '../util/files.ts';
import { newId } from '../util/ids.ts';
import type { Logger } from '../util/log.ts';

/** What a launch composer adds to a session's CLI process for a prompt. */
export interface ComposedLaunch {
  readonly args: readonly string[];
  readonly systemPrompt: readonly string[];
  /** Sent with this prompt's text, in the same message; not part of the process's arguments. */
  readonly promptContext?: readonly string[];
  readonly model?: string;
  /** The session's permission mode, when the composer decides it (its template, its user). */
  readonly permissionMode?: PermissionMode;
  /** Changes whenever something the arguments point at (e.g. the MCP config file) changes. */
  readonly key: string;
}

export interface LaunchComposer {
  compose(session: SessionSummary, prompt: PromptRecord): Promise<ComposedLaunch>;
}

export interface TurnRunnerOptions {
  readonly host: SessionHost;
  readonly claudePath: string;
  readonly store: SessionStore;
  readonly log: Logger;
  readonly eventLog: EventLog;
  readonly delivery: Delivery;
  readonly tracker: Pick<TurnTracker, 'follow' | 'finishTurn' | 'completePrompt' | 'cancelQueued'>;
  readonly liveness: Pick<Liveness, 'ensurePolling'>;
  readonly settings: () => EngineSettings;
  /** The environment sessions' variables are taken from (normally the daemon's). */
  readonly baseEnv: NodeJS.ProcessEnv;
  /** Variables kept out of sessions started from now on. */
  readonly secretEnvNames: () => ReadonlySet<string>;
  /** Adds what extensions contribute (MCP servers, tool limits, system prompt) to a session's process. */
  readonly composer?: LaunchComposer;
  /** Where a session's process is confined (bubblewrap), or nothing. */
  readonly sandbox?: SessionSandbox;
  /** Every session, to choose which warm processes to offload past `sessions.max_warm`. */
  readonly sessions: () => readonly SessionRuntime[];
  /** Throws when a session's working directory is no longer one it may use (the roots changed). */
  readonly checkWorkingDir?: (state: SessionState) => void;
  /** How long an ephemeral session stays after its last result (default a minute). */
  readonly ephemeralLingerMs?: number;
  readonly deleteSession: (sessionId: string) => Promise<void>;
}

/**
 * Runs a session's prompts one at a time: (re)starts its warm process with the arguments a prompt
 * needs, writes the prompt in, and times it; interrupts a turn, and kills a process that ignores the
 * interrupt. Results come back through the turn tracker.
 */
export class TurnRunner {
  private closed = false;

  constructor(private readonly options: TurnRunnerOptions) {}

  /** No prompt starts from now on. */
  close(): void {
    this.closed = true;
  }

  /**
   * Queues a prompt (persisted before this returns) and starts it when the session is free. With an
   * `id` the session already has a prompt under (a submit repeated), that prompt is returned instead.
   */
  enqueue(rt: SessionRuntime, text: string, options: PromptOptions, { fromSession, id }: { fromSession?: string | undefined; id?: string | undefined } = {}): { prompt: PromptRecord; position: number } {
    if (id !== undefined && !/^p_[a-z0-9]{6,40}$/.test(id)) throw new InvalidRequestError(`"${id}" is not a prompt id (p_ and 6 to 40 lower-case letters or digits)`);
    const known = id === undefined ? undefined : this.options.store.loadPrompt(rt.state.id, id);
    if (known) return { prompt: known, position: this.positionOf(rt, known.id) };
    const now = new Date().toISOString();
    const prompt: PromptRecord = {
      id: id ?? newId('p'),
      sessionId: rt.state.id,
      user: rt.state.user,
      seq: rt.state.nextSeq,
      text,
      options,
      ...(fromSession !== undefined ? { fromSession } : {}),
      status: 'queued',
      enqueuedAt: now,
      delivered: false,
    };
    this.options.store.savePrompt(prompt);
    rt.update({ nextSeq: rt.state.nextSeq + 1, lastActiveAt: now });
    // The daemon's own housekeeping goes before the person's prompts already waiting.
    if (options.silent) rt.queue.unshift(prompt);
    else rt.queue.push(prompt);
    const position = this.positionOf(rt, prompt.id);
    this.options.eventLog.record('prompt_queued', { session: rt.state.id, prompt: prompt.id, position });
    this.options.delivery.emit(rt.state, prompt.id, { type: 'queued', position }, !options.silent);
    this.schedulePump(rt);
    return { prompt, position };
  }

  /**
   * Drops a prompt that is still queued (its result: cancelled, with `reason`); false when it has
   * started or finished. Waits for a pump in progress, which may be starting this very prompt.
   */
  withdraw(rt: SessionRuntime, promptId: string, reason: string): Promise<boolean> {
    return rt.serial(() => {
      const index = rt.queue.findIndex((prompt) => prompt.id === promptId);
      const [prompt] = index < 0 ? [] : rt.queue.splice(index, 1);
      if (!prompt) return false;
      this.options.tracker.completePrompt(rt, prompt, syntheticResult('cancelled', reason));
      this.options.eventLog.record('prompt_withdrawn', { session: rt.state.id, prompt: promptId });
      this.schedulePump(rt);
      return true;
    });
  }

  /** How many prompts are ahead of this one: 0 when it runs or has run. */
  positionOf(rt: SessionRuntime, promptId: string): number {
    const queued = rt.queue.findIndex((p) => p.id === promptId);
    return queued < 0 ? 0 : queued + (rt.state.current ? 1 : 0);
  }

  schedulePump(rt: SessionRuntime): void {
    void rt.serial(() => this.pump(rt)).catch((error: unknown) => this.options.log.error('session pump failed', { session: rt.state.id, error }));
  }

  /** Sends the CLI's interrupt for the running turn and arms the grace kill; returns the interrupted prompt. */
  interrupt(rt: SessionRuntime, reason: 'stop' | 'timeout'): string | undefined {
    const current = rt.state.current;
    if (!current) return undefined;
    if (current.interrupt) return current.promptId;
    const requestId = newId('int');
    rt.update({ current: { ...current, interrupt: { requestId, reason, sentAt: new Date().toISOString() } } });
    appendPrivate(rt.files.input, interruptLine(requestId));
    rt.clearTimer('timeout');
    this.armGraceKill(rt, this.options.settings().interruptGraceMs);
    return current.promptId;
  }

  /** Kills the process after `delayMs` unless the turn ends and every interrupt is answered before. */
  armGraceKill(rt: SessionRuntime, delayMs: number): void {
    rt.setTimer('grace', delayMs, () => void rt.serial(() => this.killAfterGrace(rt)));
  }

  /** Interrupts the running turn once it has run for the prompt timeout (`elapsedMs` of it have passed). */
  armTurnTimeout(rt: SessionRuntime, elapsedMs: number): void {
    const { promptTimeoutMs } = this.options.settings();
    if (promptTimeoutMs <= 0) return;
    rt.setTimer('timeout', Math.max(0, promptTimeoutMs - elapsedMs), () => {
      const promptId = this.interrupt(rt, 'timeout');
      if (promptId) this.options.eventLog.record('prompt_timeout', { session: rt.state.id, prompt: promptId });
    });
  }

  armIdleTimer(rt: SessionRuntime): void {
    rt.clearTimer('idle');
    const { idleTimeoutMs } = this.options.settings();
    if (!rt.state.process || rt.state.current || rt.queue.length > 0 || idleTimeoutMs <= 0) return;
    const idleFor = Date.now() - Date.parse(rt.state.lastActiveAt);
    rt.setTimer('idle', Math.max(0, idleTimeoutMs - idleFor), () => this.offload(rt, 'idle timeout'));
  }

  /** Ends an idle session's warm process; its next prompt starts it again with `--resume`. */
  private offload(rt: SessionRuntime, reason: string): void {
    void rt
      .serial(async () => {
        if (rt.state.current || rt.queue.length > 0 || !rt.state.process || rt.isRemoved) return;
        rt.clearTimer('idle');
        await this.options.host.terminate(rt.state.id);
        rt.update({ process: undefined, awaitingControl: [] });
        rt.unwatch();
        this.options.eventLog.record('process_offloaded', { session: rt.state.id, reason });
      })
      .catch((error: unknown) => this.options.log.warn('could not offload a session process', { session: rt.state.id, error }));
  }

  /** Past `sessions.max_warm` warm processes, the least recently active idle ones are offloaded. */
  private keepWarmWithinLimit(launched: SessionRuntime): void {
    const { maxWarm } = this.options.settings();
    const warm = this.options.sessions().filter((rt) => rt.state.process !== undefined && !rt.isRemoved);
    const excess = warm.length - maxWarm;
    if (excess <= 0) return;
    const idle = warm
      .filter((rt) => rt !== launched && !rt.state.current && rt.queue.length === 0)
      .sort((a, b) => a.state.lastActiveAt.localeCompare(b.state.lastActiveAt));
    for (const rt of idle.slice(0, excess)) this.offload(rt, `more than ${maxWarm} warm processes (sessions.max_warm)`);
  }

  /** Ends a session's work for good: queued prompts cancelled, the running turn too, its process ended. */
  async retire(rt: SessionRuntime): Promise<void> {
    this.options.tracker.cancelQueued(rt);
    if (rt.state.current) this.options.tracker.finishTurn(rt, syntheticResult('cancelled', 'the session was deleted'));
    rt.stopTimers();
    rt.unwatch();
    await this.options.host.terminate(rt.state.id);
  }

  /** Ends the session's process; the session stays, to start a new one for its next prompt. */
  async terminate(rt: SessionRuntime): Promise<void> {
    await rt.serial(async () => {
      rt.unwatch();
      await this.options.host.terminate(rt.state.id);
      if (rt.state.process) rt.update({ process: undefined });
    });
  }

  /** The CLI did not end the turn (or answer the interrupt) in time: end its process. */
  private async killAfterGrace(rt: SessionRuntime): Promise<void> {
    const current = rt.state.current;
    if (!current?.interrupt && (rt.state.awaitingControl ?? []).length === 0) return;
    this.options.log.warn('interrupt not honoured in time; killing the session process', { session: rt.state.id });
    await this.options.host.terminate(rt.state.id);
    rt.tail?.readAvailable();
    const still = rt.state.current;
    if (still?.interrupt) this.options.tracker.finishTurn(rt, resultOfKilledTurn(still.interrupt));
    rt.update({ process: undefined, awaitingControl: [] });
    this.schedulePump(rt);
  }

  /** Starts the next queued prompt if the session is free; one prompt at a time per session. */
  private async pump(rt: SessionRuntime): Promise<void> {
    const { delivery, tracker, store, eventLog } = this.options;
    if (this.closed || rt.isRemoved || !delivery.isOpen || rt.state.current || (rt.state.awaitingControl ?? []).length > 0) return;
    const next = rt.queue[0];
    if (!next) {
      this.armIdleTimer(rt);
      if (rt.state.ephemeral && rt.state.counters.prompts > 0) this.armEphemeralTimer(rt);
      return;
    }
    rt.clearTimer('idle');
    rt.clearTimer('ephemeral');
    let composed: ComposedLaunch = { args: [], systemPrompt: [], key: '' };
    try {
      if (this.options.composer) composed = await this.options.composer.compose(rt.summary(), next);
    } catch (error) {
      rt.queue.shift();
      tracker.completePrompt(rt, next, syntheticResult('error', `could not prepare the session: ${(error as Error).message}`));
      this.schedulePump(rt);
      return;
    }
    const args = warmProcessArgs(this.options.settings(), next.options, composed);
    let sandbox: SandboxLaunch;
    try {
      this.options.checkWorkingDir?.(rt.state);
      sandbox = this.options.sandbox?.prepare(rt.state) ?? { prefix: [], env: {} };
    } catch (error) {
      rt.queue.shift();
      tracker.completePrompt(rt, next, syntheticResult('error', `could not start the session: ${(error as Error).message}`));
      this.schedulePump(rt);
      return;
    }
    // The environment counts too: a variable newly marked secret must leave the warm process.
    const env = this.sessionEnv(sandbox.env);
    const envKey = createHash('sha256').update(JSON.stringify(Object.entries(env).sort())).digest('hex');
    // So does the sandbox: a directory another user starts working in is hidden from the next launch on.
    const argsKey = JSON.stringify([args, composed.key, envKey, sandbox.prefix]);
    if (rt.state.process && rt.state.process.argsKey !== argsKey) {
      eventLog.record('process_restart', { session: rt.state.id, reason: 'different arguments' });
      await this.options.host.terminate(rt.state.id);
      rt.update({ process: undefined });
    }
    if (!rt.state.process) {
      try {
        await this.launch(rt, [...sandbox.prefix, this.options.claudePath, ...args], argsKey, env);
        this.keepWarmWithinLimit(rt);
      } catch (error) {
        rt.queue.shift();
        const message = `could not start claude: ${(error as Error).message}`;
        rt.update({ status: 'dead', statusReason: message });
        tracker.completePrompt(rt, next, syntheticResult('error', message));
        this.schedulePump(rt);
        return;
      }
    }
    rt.queue.shift();
    rt.tail?.readAvailable();
    const now = new Date().toISOString();
    const current = { promptId: next.id, inputOffset: fileSize(rt.files.input), streamOffset: fileSize(rt.files.stream), startedAt: now, ...(next.options.silent ? { silent: true } : {}) };
    rt.update({
      current,
      status: 'busy',
      statusReason: undefined,
      lastActiveAt: now,
      ...(next.options.silent ? {} : { lastPrompt: next.text.slice(0, 200) }),
      counters: { ...rt.state.counters, prompts: rt.state.counters.prompts + 1 },
    });
    store.savePrompt({ ...next, status: 'running', startedAt: now });
    appendPrivate(rt.files.input, userTurnLine(next.text, composed.promptContext));
    rt.turn = new Turn({ sawInit: false });
    this.armTurnTimeout(rt, 0);
    eventLog.record('prompt_started', { session: rt.state.id, prompt: next.id });
    delivery.emit(rt.state, next.id, { type: 'started' }, !next.options.silent);
    this.options.liveness.ensurePolling();
  }

  private sessionEnv(sandboxEnv: Readonly<Record<string, string | null>>): Record<string, string> {
    return sessionEnvironment(this.options.baseEnv, { ...this.options.settings().env, ...sandboxEnv }, this.options.secretEnvNames());
  }

  /** Starts the session's process: `command` (the CLI's argument vector, maybe inside a sandbox) and its conversation. */
  private async launch(rt: SessionRuntime, command: string[], argsKey: string, env: Record<string, string>): Promise<void> {
    const { host } = this.options;
    // A session from before its user had a HOME of their own keeps its conversation.
    const stored = conversationStored(env, rt.state.conversationId) || adoptTranscript(this.sessionEnv({}), env, rt.state.conversationId);
    const argv = [...command, ...conversationArgs(rt.state.conversationId, stored)];
    fs.rmSync(rt.files.exit, { force: true });
    await host.terminate(rt.state.id);
    // tail -F only follows a file by inotify when it exists from the start; otherwise it polls each second.
    appendPrivate(rt.files.input, '');
    appendPrivate(rt.files.stream, '');
    appendPrivate(rt.files.stderr, '');
    rt.stderrOffsetAtLaunch = fileSize(rt.files.stderr);
    await host.launch({
      name: rt.state.id,
      argv,
      env,
      cwd: rt.state.cwd,
      inputPath: rt.files.input,
      inputOffset: fileSize(rt.files.input),
      outputPath: rt.files.stream,
      stderrPath: rt.files.stderr,
      exitPath: rt.files.exit,
      scriptPath: rt.files.script,
    });
    // Unique across daemon restarts too (the last id is not kept once a process is gone): an answer
    // meant for an earlier process must never match this one.
    const launchId = Math.max((rt.state.process?.launchId ?? rt.lastLaunchId) + 1, Date.now());
    rt.lastLaunchId = launchId;
    rt.update({ process: { launchId, argsKey, startedAt: new Date().toISOString(), costBase: 0 } });
    this.options.tracker.follow(rt, fileSize(rt.files.stream));
    this.options.eventLog.record('process_launched', { session: rt.state.id, resume: stored, host: host.kind });
  }

  /** An ephemeral session whose work is done goes away once frontends have had time to show it. */
  private armEphemeralTimer(rt: SessionRuntime): void {
    rt.setTimer('ephemeral', this.options.ephemeralLingerMs ?? 60_000, () => {
      if (rt.queue.length > 0 || rt.state.current) return;
      void this.options.deleteSession(rt.state.id).catch((error: unknown) => this.options.log.warn('could not remove a finished ephemeral session', { session: rt.state.id, error }));
    });
  }
}

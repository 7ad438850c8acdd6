import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { conversationArgs, interruptLine, userTurnLine, warmProcessArgs, type ClaudeArgsSettings } from './claude/claude-args.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import { InvalidRequestError, PromptNotFoundError, SessionLimitError, SessionNotFoundError } from '../util/errors.ts';
import type { EngineEvent, StreamEvent, TurnOutcome, TurnResult } from './events.ts';
import { appendPrivate, fileSize, readTail } from '../util/files.ts';
import type { SessionHost } from './host/host.ts';
import { newConversationId, newId } from '../util/ids.ts';
import type { Logger } from '../util/log.ts';
import type { EventLog } from './event-log.ts';
import { SessionRuntime } from './session-runtime.ts';
import { sessionEnvironment } from './session-env.ts';
import { SessionStore } from './session-store.ts';
import type { NewSessionRequest, PromptOptions, PromptRecord, SessionState, SessionSummary } from './session-types.ts';
import { MalformedLineError, parseStreamLine } from './claude/stream-parser.ts';
import { conversationStored } from './claude/transcripts.ts';

export interface EngineSettings extends ClaudeArgsSettings {
  readonly env: Readonly<Record<string, string | null>>;
  readonly interruptGraceMs: number;
  readonly maxPerUser: number;
  readonly idleTimeoutMs: number;
  readonly promptTimeoutMs: number;
  readonly defaultCwd: string;
}

export interface EngineOptions {
  readonly stateDir: string;
  readonly host: SessionHost;
  readonly claudePath: string;
  readonly settings: EngineSettings;
  readonly logger: Logger;
  readonly eventLog: EventLog;
  /** The environment sessions' variables are taken from (normally the daemon's). */
  readonly baseEnv: NodeJS.ProcessEnv;
  /** How often running processes are checked and busy streams re-read when no file event came. */
  readonly pollIntervalMs?: number;
  /** Hold results until openDelivery(), so every callback registered at start-up gets them. */
  readonly holdDelivery?: boolean;
  /** How long an ephemeral session stays after its last result (default a minute). */
  readonly ephemeralLingerMs?: number;
  /** The working directory a template gives new sessions that name none. */
  readonly templateCwd?: (template: string) => string | undefined;
  /** Removes known secret values from events before anyone sees them, and from stored results. */
  readonly redact?: <E extends EngineEvent>(event: E) => E;
  /** Adds what extensions contribute (MCP servers, tool limits, system prompt) to a session's process. */
  readonly composer?: LaunchComposer;
}

/** What a launch composer adds to a session's CLI process for a prompt. */
export interface ComposedLaunch {
  readonly args: readonly string[];
  readonly systemPrompt: readonly string[];
  readonly model?: string;
  /** Changes whenever something the arguments point at (e.g. the MCP config file) changes. */
  readonly key: string;
}

export interface LaunchComposer {
  compose(session: SessionSummary, prompt: PromptRecord): Promise<ComposedLaunch>;
}

export interface SubmitRequest {
  readonly user: string;
  /** A session id or name of this user; omitted: the user's most recently active session. */
  readonly session?: string;
  /** Create a new session for this prompt. */
  readonly newSession?: NewSessionRequest;
  readonly text: string;
  readonly options?: PromptOptions;
}

export interface Submitted {
  readonly session: SessionSummary;
  readonly prompt: PromptRecord;
  /** How many prompts are ahead of this one (0: it runs now). */
  readonly position: number;
}

export interface StopResult {
  readonly sessionId: string;
  readonly interruptedPromptId: string | undefined;
  readonly clearedPrompts: number;
}

export type DeliveryCallback = (event: EngineEvent) => void | Promise<void>;

/** Beyond this many waiting events a stuck callback loses its oldest streaming events (never results). */
const DELIVERY_BACKLOG_LIMIT = 50_000;

/** Results kept in memory for delivery callbacks that are not registered yet. */
const MAX_HELD_RESULTS = 1000;

/** The line a stalled delivery callback may fall behind by before the engine warns about it. */
const DELIVERY_BACKLOG_WARNING = 10_000;

/**
 * Runs Claude Code sessions: one warm CLI process per session on the session host, prompts in through
 * an append-only input file, events out of `stream.jsonl`, everything needed to carry on after a crash
 * kept on disk.
 */
export class ClaudeEngine {
  private settings: EngineSettings;
  private readonly store: SessionStore;
  private readonly sessions = new Map<string, SessionRuntime>();
  private readonly deliveryCallbacks = new Set<DeliveryQueue>();
  private readonly promptWatchers = new Map<string, Set<(event: EngineEvent) => void>>();
  private readonly heldResults: EngineEvent[] = [];
  /** Variables kept out of sessions, with how many registrations asked for each. */
  private readonly secretEnvNames = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  private deliveryOpen: boolean;

  constructor(private readonly options: EngineOptions) {
    this.settings = options.settings;
    this.deliveryOpen = options.holdDelivery !== true;
    this.store = new SessionStore(path.join(options.stateDir, 'sessions'));
  }

  get log(): Logger {
    return this.options.logger;
  }

  /** Where sessions that name no working directory run (and relative ones are resolved from). */
  get defaultCwd(): string {
    return this.settings.defaultCwd;
  }

  updateSettings(settings: EngineSettings): void {
    this.settings = settings;
    for (const rt of this.sessions.values()) this.armIdleTimer(rt);
  }

  /** Keeps an environment variable out of every session started from now on. */
  markSecretEnv(name: string): Disposable {
    this.secretEnvNames.set(name, (this.secretEnvNames.get(name) ?? 0) + 1);
    return toDisposable(() => {
      const left = (this.secretEnvNames.get(name) ?? 1) - 1;
      if (left > 0) this.secretEnvNames.set(name, left);
      else this.secretEnvNames.delete(name);
    });
  }

  // ---- delivery ---------------------------------------------------------------------------------

  /**
   * Registers a callback for every session event. Each callback has its own queue, so a slow one only
   * delays itself. Results that finished while no callback was registered are handed to the first one.
   */
  onDelivery(callback: DeliveryCallback): Disposable {
    const queue = new DeliveryQueue(callback, this.log);
    this.deliveryCallbacks.add(queue);
    if (this.deliveryOpen && this.heldResults.length > 0) {
      const held = this.heldResults.splice(0);
      setImmediate(() => {
        for (const event of held) this.deliverHeld(event);
      });
    }
    return toDisposable(() => this.deliveryCallbacks.delete(queue));
  }

  /** Hands held results to every registered callback; from now on results go out as they come. */
  openDelivery(): void {
    if (this.deliveryOpen) return;
    this.deliveryOpen = true;
    if (this.deliveryCallbacks.size > 0) for (const event of this.heldResults.splice(0)) this.deliverHeld(event);
    for (const rt of this.sessions.values()) this.schedulePump(rt);
  }

  /**
   * Holds results and keeps new prompts from starting (while extensions start or reload), so no
   * result is handed to a half-registered set of callbacks and no process starts without its MCP
   * servers and tool limits. openDelivery() resumes both.
   */
  pauseDelivery(): void {
    this.deliveryOpen = false;
  }

  get secretEnvCount(): number {
    return this.secretEnvNames.size;
  }

  get deliveryCallbackCount(): number {
    return this.deliveryCallbacks.size;
  }

  /** Follows one prompt's events (for a client streaming them); not a delivery callback. */
  watchPrompt(promptId: string, listener: (event: EngineEvent) => void): Disposable {
    let set = this.promptWatchers.get(promptId);
    if (!set) {
      set = new Set();
      this.promptWatchers.set(promptId, set);
    }
    set.add(listener);
    return toDisposable(() => {
      set.delete(listener);
      if (set.size === 0) this.promptWatchers.delete(promptId);
    });
  }

  /**
   * Hands an extension's event about a session (a question, a notice) to the delivery callbacks and
   * to whoever follows the session's current prompt.
   */
  publish(sessionId: string, extension: string, kind: string, data: Readonly<Record<string, unknown>>): void {
    const rt = this.sessions.get(sessionId);
    if (!rt) throw new SessionNotFoundError(undefined, sessionId);
    this.emit(rt, rt.state.current?.promptId, { type: 'extension', extension, kind, data });
  }

  private emit(rt: SessionRuntime, promptId: string | undefined, event: DistributiveOmit<EngineEvent, 'sessionId' | 'user' | 'promptId'>, toCallbacks = true): void {
    const tagged = { ...event, sessionId: rt.state.id, user: rt.state.user, promptId } as EngineEvent;
    const full = this.options.redact ? this.options.redact(tagged) : tagged;
    if (promptId !== undefined) {
      for (const listener of this.promptWatchers.get(promptId) ?? []) {
        try {
          listener(full);
        } catch (error) {
          this.log.warn('prompt watcher failed', { error });
        }
      }
    }
    if (toCallbacks) for (const queue of this.deliveryCallbacks) queue.push(full);
  }

  /**
   * Keeps a result for the first delivery callback. Only the newest are kept in memory; older ones
   * stay undelivered on disk and are held again at the next start.
   */
  private holdResult(event: EngineEvent): void {
    this.heldResults.push(event);
    if (this.heldResults.length > MAX_HELD_RESULTS) this.heldResults.splice(0, this.heldResults.length - MAX_HELD_RESULTS);
  }

  private deliverHeld(held: EngineEvent): void {
    if (this.deliveryCallbacks.size === 0 || !this.deliveryOpen) {
      this.holdResult(held);
      return;
    }
    const event = this.options.redact ? this.options.redact(held) : held;
    for (const queue of this.deliveryCallbacks) queue.push(event);
    if (event.type === 'result' && event.promptId) {
      try {
        this.markDelivered(event.sessionId, event.promptId);
      } catch (error) {
        this.log.error('could not record a result as delivered', { prompt: event.promptId, error: (error as Error).message });
      }
    }
  }

  private markDelivered(sessionId: string, promptId: string): void {
    const prompt = this.store.loadPrompt(sessionId, promptId);
    if (prompt && !prompt.delivered) this.store.savePrompt({ ...prompt, delivered: true });
  }

  // ---- sessions ---------------------------------------------------------------------------------

  createSession(request: NewSessionRequest & { user: string }): SessionSummary {
    return this.summary(this.createRuntime(request));
  }

  private createRuntime(request: NewSessionRequest & { user: string }): SessionRuntime {
    validateUser(request.user);
    const owned = this.sessionsOf(request.user);
    if (owned.length >= this.settings.maxPerUser) throw new SessionLimitError(request.user, this.settings.maxPerUser);
    const name = request.name ?? uniqueName(owned.map((rt) => rt.state.name));
    validateSessionName(name);
    if (owned.some((rt) => rt.state.name === name)) throw new InvalidRequestError(`user "${request.user}" already has a session named "${name}"`);
    const templateCwd = request.template ? this.options.templateCwd?.(request.template) : undefined;
    const cwd = path.resolve(this.settings.defaultCwd, request.cwd ?? templateCwd ?? '.');
    if (!isDirectory(cwd)) throw new InvalidRequestError(`working directory ${cwd} does not exist`);
    const now = new Date().toISOString();
    const state: SessionState = {
      id: newId('s'),
      user: request.user,
      name,
      cwd,
      conversationId: newConversationId(),
      ...(request.template ? { template: request.template } : {}),
      ...(request.labels && Object.keys(request.labels).length > 0 ? { labels: { ...request.labels } } : {}),
      ...(request.ephemeral ? { ephemeral: true } : {}),
      status: 'idle',
      createdAt: now,
      updatedAt: now,
      lastActiveAt: now,
      counters: { prompts: 0, costUsd: 0, turns: 0 },
      nextSeq: 1,
    };
    this.store.create(state);
    const rt = new SessionRuntime(state, this.store.files(state.id));
    this.sessions.set(state.id, rt);
    this.options.eventLog.record('session_created', { session: state.id, user: state.user, name, cwd, ...(request.template ? { template: request.template } : {}) });
    return rt;
  }

  listSessions(user?: string): SessionSummary[] {
    return [...this.sessions.values()]
      .filter((rt) => user === undefined || rt.state.user === user)
      .sort((a, b) => a.state.createdAt.localeCompare(b.state.createdAt))
      .map((rt) => this.summary(rt));
  }

  getSession(sessionId: string): SessionSummary | undefined {
    const rt = this.sessions.get(sessionId);
    return rt ? this.summary(rt) : undefined;
  }

  /** A session by id or by name; with a user, only that user's sessions are found. */
  findSession(ref: string, user?: string): SessionSummary {
    return this.summary(this.resolve(ref, user));
  }

  /** The directory holding a session's files (state, prompts, stream, its MCP config). */
  sessionDir(sessionId: string): string {
    return this.store.files(sessionId).dir;
  }

  /** Gives a session a new name, unique among its user's sessions. */
  renameSession(sessionId: string, name: string): SessionSummary {
    const rt = this.sessions.get(sessionId);
    if (!rt) throw new SessionNotFoundError(undefined, sessionId);
    validateSessionName(name);
    if (this.sessionsOf(rt.state.user).some((other) => other !== rt && other.state.name === name)) {
      throw new InvalidRequestError(`user "${rt.state.user}" already has a session named "${name}"`);
    }
    rt.update(this.store, { name });
    this.options.eventLog.record('session_renamed', { session: sessionId, name });
    return this.summary(rt);
  }

  async deleteSession(sessionId: string): Promise<void> {
    const rt = this.sessions.get(sessionId);
    if (!rt) throw new SessionNotFoundError(undefined, sessionId);
    await rt.serial(async () => {
      this.cancelQueued(rt);
      if (rt.state.current) this.finishTurn(rt, syntheticResult('cancelled', 'the session was deleted'));
      rt.stopTimers();
      rt.unwatch();
      await this.options.host.terminate(rt.state.id);
      this.sessions.delete(rt.state.id);
      this.store.remove(rt.state.id);
    });
    this.options.eventLog.record('session_deleted', { session: sessionId });
  }

  private sessionsOf(user: string): SessionRuntime[] {
    return [...this.sessions.values()].filter((rt) => rt.state.user === user);
  }

  private resolve(ref: string, user?: string): SessionRuntime {
    const byId = this.sessions.get(ref);
    if (byId && (user === undefined || byId.state.user === user)) return byId;
    const byName = [...this.sessions.values()].find((rt) => rt.state.name === ref && (user === undefined || rt.state.user === user));
    if (byName) return byName;
    throw new SessionNotFoundError(user, ref);
  }

  private summary(rt: SessionRuntime): SessionSummary {
    const s = rt.state;
    return {
      id: s.id,
      user: s.user,
      name: s.name,
      cwd: s.cwd,
      ...(s.template ? { template: s.template } : {}),
      labels: s.labels ?? {},
      conversationId: s.conversationId,
      status: s.status,
      ...(s.statusReason ? { statusReason: s.statusReason } : {}),
      warm: s.process !== undefined,
      queued: rt.queue.length,
      ...(s.current ? { currentPromptId: s.current.promptId } : {}),
      ...(s.lastPrompt ? { lastPrompt: s.lastPrompt } : {}),
      counters: s.counters,
      createdAt: s.createdAt,
      lastActiveAt: s.lastActiveAt,
    };
  }

  // ---- prompts ----------------------------------------------------------------------------------

  /** Queues a prompt (persisted before this returns) and starts it when the session is free. */
  submit(request: SubmitRequest): Submitted {
    if (this.closed) throw new InvalidRequestError('the engine is shutting down');
    if (typeof request.text !== 'string' || request.text.trim().length === 0) throw new InvalidRequestError('the prompt is empty');
    validateUser(request.user);
    let rt: SessionRuntime;
    if (request.newSession) {
      rt = this.createRuntime({ user: request.user, ...request.newSession });
    } else if (request.session !== undefined) {
      rt = this.resolve(request.session, request.user);
    } else {
      const owned = this.sessionsOf(request.user).sort((a, b) => b.state.lastActiveAt.localeCompare(a.state.lastActiveAt));
      rt = owned[0] ?? this.createRuntime({ user: request.user });
    }
    const now = new Date().toISOString();
    const prompt: PromptRecord = {
      id: newId('p'),
      sessionId: rt.state.id,
      user: rt.state.user,
      seq: rt.state.nextSeq,
      text: request.text,
      options: request.options ?? {},
      status: 'queued',
      enqueuedAt: now,
      delivered: false,
    };
    this.store.savePrompt(prompt);
    rt.update(this.store, { nextSeq: rt.state.nextSeq + 1, lastActiveAt: now });
    rt.queue.push(prompt);
    const position = rt.queue.length - 1 + (rt.state.current ? 1 : 0);
    this.options.eventLog.record('prompt_queued', { session: rt.state.id, prompt: prompt.id, position });
    this.emit(rt, prompt.id, { type: 'queued', position });
    this.schedulePump(rt);
    return { session: this.summary(rt), prompt, position };
  }

  getPrompt(sessionId: string, promptId: string): PromptRecord {
    const rt = this.sessions.get(sessionId);
    if (!rt) throw new SessionNotFoundError(undefined, sessionId);
    const prompt = this.store.loadPrompt(sessionId, promptId);
    if (!prompt) throw new PromptNotFoundError(sessionId, promptId);
    return prompt;
  }

  /** The newest prompt of a session (running, else last queued, else last finished). */
  latestPromptId(sessionId: string): string | undefined {
    const rt = this.sessions.get(sessionId);
    if (!rt) throw new SessionNotFoundError(undefined, sessionId);
    return rt.queue.at(-1)?.id ?? rt.state.current?.promptId ?? rt.lastFinishedPromptId;
  }

  /** Resolves with the prompt once it has a result (at once when it already has one). */
  waitForPrompt(sessionId: string, promptId: string, signal?: AbortSignal): Promise<PromptRecord> {
    return new Promise((resolve, reject) => {
      const watcher = this.watchPrompt(promptId, (event) => {
        if (event.type !== 'result') return;
        watcher.dispose();
        resolve(this.getPrompt(sessionId, promptId));
      });
      try {
        const prompt = this.getPrompt(sessionId, promptId);
        if (prompt.status === 'done') {
          watcher.dispose();
          resolve(prompt);
          return;
        }
      } catch (error) {
        watcher.dispose();
        reject(error);
        return;
      }
      signal?.addEventListener('abort', () => {
        watcher.dispose();
        reject(new Error('aborted'));
      });
    });
  }

  /**
   * Interrupts the running turn with the CLI's interrupt message; if the turn has not ended within
   * `interrupt_grace`, the process is killed. With `clear`, queued prompts are dropped too.
   */
  async stop(ref: string, options: { user?: string; clear?: boolean } = {}): Promise<StopResult> {
    const rt = this.resolve(ref, options.user);
    const clearedPrompts = options.clear ? this.cancelQueued(rt) : 0;
    const interruptedPromptId = this.interrupt(rt, 'stop');
    this.options.eventLog.record('stop', { session: rt.state.id, prompt: interruptedPromptId, cleared: clearedPrompts });
    return { sessionId: rt.state.id, interruptedPromptId, clearedPrompts };
  }

  private interrupt(rt: SessionRuntime, reason: 'stop' | 'timeout'): string | undefined {
    const current = rt.state.current;
    if (!current) return undefined;
    if (current.interrupt) return current.promptId;
    const requestId = newId('int');
    rt.update(this.store, { current: { ...current, interrupt: { requestId, reason, sentAt: new Date().toISOString() } } });
    appendPrivate(rt.files.input, interruptLine(requestId));
    rt.clearTimer('timeout');
    rt.setTimer('grace', this.settings.interruptGraceMs, () => {
      void rt.serial(() => this.killAfterGrace(rt));
    });
    return current.promptId;
  }

  /** The CLI did not end the turn (or answer the interrupt) in time: end its process. */
  private async killAfterGrace(rt: SessionRuntime): Promise<void> {
    const current = rt.state.current;
    if (!current?.interrupt && (rt.state.awaitingControl ?? []).length === 0) return;
    this.log.warn('interrupt not honoured in time; killing the session process', { session: rt.state.id });
    await this.options.host.terminate(rt.state.id);
    rt.tail?.readAvailable();
    const still = rt.state.current;
    if (still?.interrupt) {
      const outcome = still.interrupt.reason === 'timeout' ? 'timeout' : 'stopped';
      this.finishTurn(rt, syntheticResult(outcome, `${outcome === 'timeout' ? 'timed out' : 'stopped'}; the process did not end the turn and was killed`));
    }
    rt.update(this.store, { process: undefined, awaitingControl: [] });
    this.schedulePump(rt);
  }

  private cancelQueued(rt: SessionRuntime): number {
    const cancelled = rt.queue.splice(0);
    for (const prompt of cancelled) {
      const result = syntheticResult('cancelled', 'cancelled before it started');
      this.completePrompt(rt, prompt, result);
    }
    return cancelled.length;
  }

  // ---- the pump: one prompt at a time per session ---------------------------------------------

  private schedulePump(rt: SessionRuntime): void {
    void rt.serial(() => this.pump(rt)).catch((error: unknown) => this.log.error('session pump failed', { session: rt.state.id, error }));
  }

  private async pump(rt: SessionRuntime): Promise<void> {
    if (this.closed || !this.deliveryOpen || rt.state.current || (rt.state.awaitingControl ?? []).length > 0) return;
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
      if (this.options.composer) composed = await this.options.composer.compose(this.summary(rt), next);
    } catch (error) {
      rt.queue.shift();
      this.completePrompt(rt, next, syntheticResult('error', `could not prepare the session: ${(error as Error).message}`));
      this.schedulePump(rt);
      return;
    }
    const args = warmProcessArgs(this.settings, next.options, composed);
    // The environment counts too: a variable newly marked secret must leave the warm process.
    const env = this.sessionEnv();
    const envKey = createHash('sha256').update(JSON.stringify(Object.entries(env).sort())).digest('hex');
    const argsKey = JSON.stringify([args, composed.key, envKey]);
    if (rt.state.process && rt.state.process.argsKey !== argsKey) {
      this.options.eventLog.record('process_restart', { session: rt.state.id, reason: 'different arguments' });
      await this.options.host.terminate(rt.state.id);
      rt.update(this.store, { process: undefined });
    }
    if (!rt.state.process) {
      try {
        await this.launch(rt, args, argsKey, env);
      } catch (error) {
        rt.queue.shift();
        const message = `could not start claude: ${(error as Error).message}`;
        rt.update(this.store, { status: 'dead', statusReason: message });
        this.completePrompt(rt, next, syntheticResult('error', message));
        this.schedulePump(rt);
        return;
      }
    }
    rt.queue.shift();
    rt.tail?.readAvailable();
    const now = new Date().toISOString();
    const current = { promptId: next.id, inputOffset: fileSize(rt.files.input), streamOffset: fileSize(rt.files.stream), startedAt: now };
    rt.update(this.store, {
      current,
      status: 'busy',
      statusReason: undefined,
      lastActiveAt: now,
      lastPrompt: next.text.slice(0, 200),
      counters: { ...rt.state.counters, prompts: rt.state.counters.prompts + 1 },
    });
    this.store.savePrompt({ ...next, status: 'running', startedAt: now });
    appendPrivate(rt.files.input, userTurnLine(next.text));
    rt.turnSawInit = false;
    this.armTurnTimeout(rt, 0);
    this.options.eventLog.record('prompt_started', { session: rt.state.id, prompt: next.id });
    this.emit(rt, next.id, { type: 'started' });
    this.ensurePolling();
  }

  private sessionEnv(): Record<string, string> {
    return sessionEnvironment(this.options.baseEnv, this.settings.env, new Set(this.secretEnvNames.keys()));
  }

  private async launch(rt: SessionRuntime, args: string[], argsKey: string, env: Record<string, string>): Promise<void> {
    const stored = conversationStored(env, rt.state.conversationId);
    const argv = [this.options.claudePath, ...args, ...conversationArgs(rt.state.conversationId, stored)];
    fs.rmSync(rt.files.exit, { force: true });
    await this.options.host.terminate(rt.state.id);
    // tail -F only follows a file by inotify when it exists from the start; otherwise it polls each second.
    appendPrivate(rt.files.input, '');
    appendPrivate(rt.files.stream, '');
    appendPrivate(rt.files.stderr, '');
    rt.stderrOffsetAtLaunch = fileSize(rt.files.stderr);
    await this.options.host.launch({
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
    const launchId = (rt.state.process?.launchId ?? rt.lastLaunchId) + 1;
    rt.lastLaunchId = launchId;
    rt.update(this.store, { process: { launchId, argsKey, startedAt: new Date().toISOString(), costBase: 0 } });
    this.startFollowing(rt, fileSize(rt.files.stream));
    this.options.eventLog.record('process_launched', { session: rt.state.id, resume: stored, host: this.options.host.kind });
  }

  private armTurnTimeout(rt: SessionRuntime, elapsedMs: number): void {
    if (this.settings.promptTimeoutMs <= 0) return;
    rt.setTimer('timeout', Math.max(0, this.settings.promptTimeoutMs - elapsedMs), () => {
      const promptId = this.interrupt(rt, 'timeout');
      if (promptId) this.options.eventLog.record('prompt_timeout', { session: rt.state.id, prompt: promptId });
    });
  }

  /** An ephemeral session whose work is done goes away once frontends have had time to show it. */
  private armEphemeralTimer(rt: SessionRuntime): void {
    rt.setTimer('ephemeral', this.options.ephemeralLingerMs ?? 60_000, () => {
      if (rt.queue.length > 0 || rt.state.current) return;
      void this.deleteSession(rt.state.id).catch((error: unknown) => this.log.warn('could not remove a finished ephemeral session', { session: rt.state.id, error }));
    });
  }

  private armIdleTimer(rt: SessionRuntime): void {
    rt.clearTimer('idle');
    if (!rt.state.process || rt.state.current || rt.queue.length > 0 || this.settings.idleTimeoutMs <= 0) return;
    const idleFor = Date.now() - Date.parse(rt.state.lastActiveAt);
    rt.setTimer('idle', Math.max(0, this.settings.idleTimeoutMs - idleFor), () => {
      void rt.serial(async () => {
        if (rt.state.current || rt.queue.length > 0 || !rt.state.process) return;
        await this.options.host.terminate(rt.state.id);
        rt.update(this.store, { process: undefined, awaitingControl: [] });
        rt.unwatch();
        this.options.eventLog.record('process_offloaded', { session: rt.state.id, reason: 'idle timeout' });
      });
    });
  }

  // ---- reading the stream -----------------------------------------------------------------------

  private startFollowing(rt: SessionRuntime, offset: number): void {
    rt.follow(offset, (line, endOffset) => this.handleLine(rt, line, endOffset), () => this.onFileActivity(rt));
  }

  private onFileActivity(rt: SessionRuntime): void {
    try {
      rt.tail?.readAvailable();
    } catch (error) {
      this.log.error('reading the stream failed', { session: rt.state.id, error });
    }
    this.persistDeliveredOffset(rt);
    if (rt.state.process && fs.existsSync(rt.files.exit)) this.processEnded(rt);
  }

  private persistDeliveredOffset(rt: SessionRuntime): void {
    if (!rt.tail || rt.tail.offset === rt.persistedOffset) return;
    this.store.writeDeliveredOffset(rt.state.id, rt.tail.offset);
    rt.persistedOffset = rt.tail.offset;
  }

  private handleLine(rt: SessionRuntime, line: string, endOffset: number): void {
    let events: StreamEvent[];
    try {
      events = parseStreamLine(line);
    } catch (error) {
      if (!(error instanceof MalformedLineError)) throw error;
      this.log.warn(error.message, { session: rt.state.id });
      this.options.eventLog.record('malformed_line', { session: rt.state.id, offset: endOffset });
      return;
    }
    const current = rt.state.current;
    const inTurn = current !== undefined && endOffset > current.streamOffset;
    for (const event of events) {
      if (event.type === 'control_response') {
        this.onControlResponse(rt, event.requestId);
      } else if (event.type === 'cli_result') {
        if (inTurn) this.finishTurn(rt, this.resultFromCli(rt, event));
      } else if (inTurn) {
        if (event.type === 'init') rt.turnSawInit = true;
        this.emit(rt, current.promptId, event);
      }
    }
  }

  private onControlResponse(rt: SessionRuntime, requestId: string): void {
    const awaiting = rt.state.awaitingControl ?? [];
    if (awaiting.includes(requestId)) {
      const rest = awaiting.filter((id) => id !== requestId);
      rt.update(this.store, { awaitingControl: rest });
      if (rest.length === 0 && !rt.state.current) rt.clearTimer('grace');
      this.schedulePump(rt);
    } else if (rt.state.current?.interrupt?.requestId === requestId) {
      rt.interruptAnswered = true;
    }
  }

  private resultFromCli(rt: SessionRuntime, event: Extract<StreamEvent, { type: 'cli_result' }>): TurnResult {
    const interrupt = rt.state.current?.interrupt;
    const base = rt.state.process?.costBase ?? 0;
    const costUsd = Math.max(0, event.totalCostUsd - base);
    if (rt.state.process) rt.update(this.store, { process: { ...rt.state.process, costBase: event.totalCostUsd } });
    let outcome: TurnOutcome = event.isError ? 'error' : 'success';
    if (interrupt && event.subtype !== 'success') outcome = interrupt.reason === 'timeout' ? 'timeout' : 'stopped';
    const text = outcome === 'stopped' ? event.text || 'stopped' : outcome === 'timeout' ? event.text || 'timed out' : event.text;
    return {
      outcome,
      isError: outcome !== 'success',
      text,
      subtype: event.subtype,
      costUsd,
      durationMs: event.durationMs,
      numTurns: event.numTurns,
      usage: event.usage,
      ...(event.structuredOutput !== undefined ? { structuredOutput: event.structuredOutput } : {}),
    };
  }

  /** Records the running turn's result and frees the session for its next prompt. */
  private finishTurn(rt: SessionRuntime, result: TurnResult): void {
    const current = rt.state.current;
    if (!current) return;
    const prompt = this.store.loadPrompt(rt.state.id, current.promptId);
    const interruptPending = current.interrupt && !rt.interruptAnswered ? [current.interrupt.requestId] : [];
    rt.clearTimer('timeout');
    if (interruptPending.length === 0) rt.clearTimer('grace');
    rt.interruptAnswered = false;
    const status = result.outcome === 'stopped' || result.outcome === 'timeout' ? 'stopped' : result.outcome === 'died' ? 'dead' : 'idle';
    rt.update(this.store, {
      current: undefined,
      awaitingControl: [...(rt.state.awaitingControl ?? []), ...interruptPending],
      status: rt.state.status === 'dead' ? 'dead' : status,
      lastActiveAt: new Date().toISOString(),
      counters: {
        prompts: rt.state.counters.prompts,
        costUsd: rt.state.counters.costUsd + result.costUsd,
        turns: rt.state.counters.turns + result.numTurns,
      },
    });
    this.persistDeliveredOffset(rt);
    if (prompt) this.completePrompt(rt, prompt, result);
    this.schedulePump(rt);
  }

  /** Persists a prompt's result, then hands it over: exactly once, since `delivered` is on disk first. */
  private completePrompt(rt: SessionRuntime, prompt: PromptRecord, raw: TurnResult): void {
    const result = this.options.redact ? this.options.redact({ type: 'result', result: raw, sessionId: rt.state.id, user: rt.state.user, promptId: prompt.id }).result : raw;
    const delivered = this.deliveryOpen && this.deliveryCallbacks.size > 0;
    const done: PromptRecord = { ...prompt, status: 'done', finishedAt: new Date().toISOString(), result, delivered };
    this.store.savePrompt(done);
    rt.lastFinishedPromptId = prompt.id;
    this.options.eventLog.record('result', {
      session: rt.state.id,
      prompt: prompt.id,
      outcome: result.outcome,
      cost_usd: result.costUsd,
      duration_ms: result.durationMs,
      turns: result.numTurns,
    });
    const event = { type: 'result', result, sessionId: rt.state.id, user: rt.state.user, promptId: prompt.id } as const;
    if (!delivered) this.holdResult(event);
    this.emit(rt, prompt.id, { type: 'result', result }, delivered);
  }

  // ---- process death ----------------------------------------------------------------------------

  private processEnded(rt: SessionRuntime): void {
    if (!rt.state.process) return;
    const code = readTail(rt.files.exit, 32).trim();
    this.onProcessGone(rt, `claude exited with code ${code || 'unknown'}`);
  }

  private onProcessGone(rt: SessionRuntime, cause: string): void {
    rt.tail?.readAvailable();
    if (!rt.state.process) return;
    const stderr = readTail(rt.files.stderr, 2000);
    const stderrSinceLaunch = fileSize(rt.files.stderr) > rt.stderrOffsetAtLaunch ? lastLines(stderr, 3) : '';
    const reason = stderrSinceLaunch ? `${cause}: ${stderrSinceLaunch}` : cause;
    this.log.warn('session process ended', { session: rt.state.id, reason });
    this.options.eventLog.record('process_died', { session: rt.state.id, reason });
    rt.update(this.store, { process: undefined, awaitingControl: [] });
    rt.clearTimer('grace');
    rt.unwatch();
    const current = rt.state.current;
    if (current && !current.interrupt && !rt.turnSawInit && !rt.retriedPromptIds.has(current.promptId)) {
      // The prompt never reached the model: run it again in a fresh process rather than fail it.
      rt.retriedPromptIds.add(current.promptId);
      const prompt = this.store.loadPrompt(rt.state.id, current.promptId);
      rt.update(this.store, { current: undefined, status: 'dead', statusReason: reason });
      if (prompt) {
        this.store.savePrompt({ ...prompt, status: 'queued' });
        rt.queue.unshift({ ...prompt, status: 'queued' });
      }
      this.schedulePump(rt);
      return;
    }
    if (current) {
      const outcome = current.interrupt ? (current.interrupt.reason === 'timeout' ? 'timeout' : 'stopped') : 'died';
      this.emit(rt, current.promptId, { type: 'error', message: reason });
      rt.update(this.store, { status: 'dead', statusReason: reason });
      this.finishTurn(rt, syntheticResult(outcome, reason));
    } else {
      rt.update(this.store, { status: 'dead', statusReason: reason });
    }
  }

  private ensurePolling(): void {
    if (this.pollTimer || this.closed) return;
    const interval = this.options.pollIntervalMs ?? 2000;
    this.pollTimer = setInterval(() => void this.poll(), interval);
    this.pollTimer.unref();
  }

  /** The slow fallback: notices processes that vanished without a word (a killed tmux server). */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const withProcess = [...this.sessions.values()].filter((rt) => rt.state.process);
      if (withProcess.length === 0) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
        return;
      }
      const running = await this.options.host.running();
      for (const rt of withProcess) {
        await rt.serial(async () => {
          if (!rt.state.process) return;
          this.onFileActivity(rt);
          if (rt.state.process && !running.has(rt.state.id) && !(await this.options.host.isRunning(rt.state.id))) {
            this.onProcessGone(rt, 'the session process is gone (its tmux session or server was killed)');
          }
        });
      }
    } catch (error) {
      this.log.error('liveness check failed', { error });
    } finally {
      this.polling = false;
    }
  }

  // ---- start-up and shut-down -------------------------------------------------------------------

  /**
   * Rediscovers every session from the state dir and the host: turns still running are followed from
   * the delivered offset, results that arrived while the daemon was down are delivered, sessions whose
   * process died are marked dead, and queued prompts go on.
   */
  async recover(): Promise<void> {
    const states = this.store.loadAll((id, error) => this.log.error('unreadable session state; skipped', { session: id, error }));
    const running = await this.options.host.running().catch((error: unknown) => {
      this.log.warn('could not list the running sessions; asking for each one', { error: (error as Error).message });
      return new Set<string>();
    });
    for (const state of states) {
      const rt = new SessionRuntime(state, this.store.files(state.id));
      this.sessions.set(state.id, rt);
      const prompts = this.store.loadPrompts(state.id, (file, error) => this.log.error('unreadable prompt; skipped', { file, error }));
      rt.queue.push(...prompts.filter((p) => p.status === 'queued'));
      for (const prompt of prompts) {
        if (prompt.status === 'done' && !prompt.delivered && prompt.result) {
          this.holdResult({ type: 'result', result: prompt.result, sessionId: state.id, user: state.user, promptId: prompt.id });
        }
      }
      const alive = running.has(state.id) || (state.process !== undefined && (await this.options.host.isRunning(state.id)));
      await rt.serial(async () => this.recoverSession(rt, alive));
    }
    for (const rt of this.sessions.values()) this.schedulePump(rt);
    if (this.deliveryOpen && this.deliveryCallbacks.size > 0 && this.heldResults.length > 0) {
      for (const event of this.heldResults.splice(0)) this.deliverHeld(event);
    }
    this.ensurePolling();
    this.options.eventLog.record('recovered', { sessions: this.sessions.size, running: running.size });
  }

  private async recoverSession(rt: SessionRuntime, alive: boolean): Promise<void> {
    const state = rt.state;
    const exited = fs.existsSync(rt.files.exit);
    const current = state.current;
    if (current && fileSize(rt.files.input) <= current.inputOffset) {
      // The daemon died between choosing the prompt and writing it: it never started.
      const prompt = this.store.loadPrompt(state.id, current.promptId);
      rt.update(this.store, { current: undefined, status: 'idle' });
      if (prompt) rt.queue.unshift({ ...prompt, status: 'queued' });
    }
    if (!state.process) {
      if (rt.state.status === 'busy') rt.update(this.store, { status: 'idle' });
      return;
    }
    const delivered = this.store.readDeliveredOffset(state.id);
    const from = rt.state.current ? Math.max(delivered, rt.state.current.streamOffset) : Math.max(delivered, fileSize(rt.files.stream));
    rt.lastLaunchId = state.process.launchId;
    this.startFollowing(rt, from);
    rt.turnSawInit = true;
    rt.tail?.readAvailable();
    this.persistDeliveredOffset(rt);
    if (!alive || exited) {
      this.onProcessGone(rt, exited ? `claude exited with code ${readTail(rt.files.exit, 32).trim()} while the daemon was down` : 'the session process was gone when the daemon started');
      return;
    }
    const turn = rt.state.current;
    if (turn) {
      this.armTurnTimeout(rt, Date.now() - Date.parse(turn.startedAt));
      if (turn.interrupt) {
        const waited = Date.now() - Date.parse(turn.interrupt.sentAt);
        rt.setTimer('grace', Math.max(0, this.settings.interruptGraceMs - waited), () => void rt.serial(() => this.killAfterGrace(rt)));
      }
    } else if ((rt.state.awaitingControl ?? []).length > 0) {
      rt.setTimer('grace', this.settings.interruptGraceMs, () => void rt.serial(() => this.killAfterGrace(rt)));
    }
  }

  /**
   * Stops watching and timing; session processes keep running on the host, to be picked up by the
   * next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const rt of this.sessions.values()) {
      rt.stopTimers();
      rt.unwatch();
    }
    await Promise.all([...this.deliveryCallbacks].map((queue) => queue.drained()));
  }

  /** Ends every session process (for tests and `claude-ext` shutdown with --kill). */
  async terminateAll(): Promise<void> {
    for (const rt of this.sessions.values()) {
      await rt.serial(async () => {
        rt.unwatch();
        await this.options.host.terminate(rt.state.id);
        if (rt.state.process) rt.update(this.store, { process: undefined });
      });
    }
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = { idle: 0, busy: 0, stopped: 0, dead: 0, warm: 0, queued: 0 };
    for (const rt of this.sessions.values()) {
      counts[rt.state.status] = (counts[rt.state.status] ?? 0) + 1;
      if (rt.state.process) counts.warm = (counts.warm ?? 0) + 1;
      counts.queued = (counts.queued ?? 0) + rt.queue.length;
    }
    return counts;
  }
}

/** Hands events to one callback in order, without letting it hold up anyone else. */
class DeliveryQueue {
  private readonly pending: EngineEvent[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly callback: DeliveryCallback,
    private readonly log: Logger,
  ) {}

  push(event: EngineEvent): void {
    this.pending.push(event);
    if (this.pending.length === DELIVERY_BACKLOG_WARNING) this.log.warn('a delivery callback is falling behind', { backlog: this.pending.length });
    if (this.pending.length > DELIVERY_BACKLOG_LIMIT) this.shed();
    this.running ??= this.drain();
  }

  /** A callback that hangs must not hold the daemon's memory: streaming pieces go first, results never. */
  private shed(): void {
    const before = this.pending.length;
    const kept = this.pending.filter((e, i) => e.type === 'result' || e.type === 'extension' || i >= before - DELIVERY_BACKLOG_WARNING);
    this.pending.length = 0;
    for (const event of kept) this.pending.push(event);
    this.log.warn('a delivery callback is stuck; dropped its oldest streaming events', { dropped: before - kept.length });
  }

  drained(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.pending.length > 0) {
      const event = this.pending.shift() as EngineEvent;
      try {
        await this.callback(event);
      } catch (error) {
        this.log.error('delivery callback failed', { error, event: event.type, session: event.sessionId });
      }
    }
    this.running = undefined;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function syntheticResult(outcome: TurnOutcome, text: string): TurnResult {
  return {
    outcome,
    isError: outcome !== 'success',
    text,
    subtype: undefined,
    costUsd: 0,
    durationMs: 0,
    numTurns: 0,
    usage: { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
  };
}

function validateUser(user: unknown): asserts user is string {
  if (typeof user !== 'string' || user.length === 0 || user.length > 128 || /[\0\n]/.test(user)) {
    throw new InvalidRequestError('a user id is a non-empty string of at most 128 characters');
  }
}

function uniqueName(taken: string[]): string {
  if (!taken.includes('default')) return 'default';
  for (let n = 2; ; n += 1) if (!taken.includes(`session-${n}`)) return `session-${n}`;
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

function validateSessionName(name: string): void {
  if (!/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(name)) {
    throw new InvalidRequestError(`session name "${name}" must be 1-64 letters, digits, spaces, dots, dashes or underscores`);
  }
}

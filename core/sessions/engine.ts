import path from 'node:path';
import { Delivery, type DeliveryCallback } from './delivery.ts';
import type { EngineSettings } from './engine-settings.ts';
import type { EngineEvent } from './events.ts';
import type { Frontend } from './frontends.ts';
import type { EventLog } from './event-log.ts';
import type { SessionHost } from './host/host.ts';
import { Liveness } from './liveness.ts';
import { recoverSessions } from './recovery.ts';
import { SecretEnvNames } from './session-env.ts';
import { SessionRegistry, validateUser } from './session-registry.ts';
import type { SessionRuntime } from './session-runtime.ts';
import { NO_SANDBOX, type SandboxMode, type SessionSandbox } from './sandbox/session-sandbox.ts';
import { SessionStore } from './session-store.ts';
import type { NewSessionRequest, PromptRecord, QueuedPrompt, SessionSummary, StopResult, SubmitRequest, Submitted } from './session-types.ts';
import { waitingPrompts } from './queued-prompts.ts';
import { TurnRunner, type LaunchComposer } from './turn-runner.ts';
import { TurnTracker } from './turn-tracker.ts';
import { assertWorkingDirAllowed } from './working-roots.ts';
import { PermissionChannel } from './permission-channel.ts';
import type { Disposable } from '../util/disposable.ts';
import { InvalidRequestError, PromptNotFoundError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';


export type { DeliveryCallback } from './delivery.ts';
export type { Frontend } from './frontends.ts';
export type { EngineSettings } from './engine-settings.ts';
export type { StopResult, SubmitRequest, Submitted } from './session-types.ts';
export type { ComposedLaunch, LaunchComposer } from './turn-runner.ts';

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
  /** Where sessions' processes are confined; none when absent. */
  readonly sandbox?: SessionSandbox;
  /** The wait before a frontend's rejected delivery is tried again, doubling up to `maxMs` (default 1 s to 1 min). */
  readonly frontendRetry?: { readonly firstMs: number; readonly maxMs: number };
}

/**
 * Runs Claude Code sessions: one warm CLI process per session on the session host, prompts in through
 * an append-only input file, events out of `stream.jsonl`, everything needed to carry on after a crash
 * kept on disk.
 *
 * The work is done by its parts: the registry knows the sessions, the runner starts and interrupts
 * turns, the tracker follows their streams to their results, delivery hands events out, liveness
 * notices dead processes, and recovery picks everything up after a restart.
 */
export class ClaudeEngine {
  private settings: EngineSettings;
  private readonly store: SessionStore;
  private readonly secretEnv = new SecretEnvNames();
  private readonly delivery: Delivery;
  private readonly registry: SessionRegistry;
  private readonly tracker: TurnTracker;
  private readonly liveness: Liveness;
  private readonly runner: TurnRunner;
  private closed = false;
  /** Tool-call permission requests of sessions in approve mode, and their answers. */
  readonly permissions: PermissionChannel;

  constructor(private readonly options: EngineOptions) {
    this.settings = options.settings;
    const store = new SessionStore(path.join(options.stateDir, 'sessions'));
    this.store = store;
    const { logger: log, eventLog, host } = options;
    const settings = (): EngineSettings => this.settings;
    const schedulePump = (rt: SessionRuntime): void => this.runner.schedulePump(rt);
    // An ephemeral session kept for its frontend goes once the frontend has its results.
    const settled = (sessionId: string): void => {
      const rt = this.registry.get(sessionId);
      if (rt?.state.ephemeral) schedulePump(rt);
    };
    this.delivery = new Delivery({ log, open: options.holdDelivery !== true, redact: options.redact, store, settled, frontendRetry: options.frontendRetry });
    this.registry = new SessionRegistry({ store, eventLog, settings, stateDir: options.stateDir, templateCwd: options.templateCwd, endWork: (rt) => this.runner.retire(rt) });
    const onProcessExited = (rt: SessionRuntime): void => this.liveness.processExited(rt);
    this.tracker = new TurnTracker({ store, delivery: this.delivery, log, eventLog, schedulePump, onProcessExited, onPermission: (rt, event) => this.permissions.received(rt, event) });
    this.permissions = new PermissionChannel({ registry: this.registry, delivery: this.delivery, log });
    this.liveness = new Liveness({
      host,
      store,
      log,
      eventLog,
      delivery: this.delivery,
      tracker: this.tracker,
      sessions: () => this.registry.all(),
      schedulePump,
      pollIntervalMs: options.pollIntervalMs,
    });
    this.runner = new TurnRunner({
      host,
      claudePath: options.claudePath,
      store,
      log,
      eventLog,
      delivery: this.delivery,
      tracker: this.tracker,
      liveness: this.liveness,
      settings,
      baseEnv: options.baseEnv,
      secretEnvNames: () => this.secretEnv.names(),
      composer: options.composer,
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      sessions: () => this.registry.all(),
      checkWorkingDir: (state) => assertWorkingDirAllowed(this.settings.roots, state.user, state.cwd, options.stateDir),
      ephemeralLingerMs: options.ephemeralLingerMs,
      deleteSession: (sessionId) => this.removeEphemeral(sessionId),
    });
  }

  get log(): Logger {
    return this.options.logger;
  }

  /** Where sessions that name no working directory run (and relative ones are resolved from). */
  get defaultCwd(): string {
    return this.settings.defaultCwd;
  }

  get sandboxMode(): SandboxMode {
    return (this.options.sandbox ?? NO_SANDBOX).mode;
  }

  /**
   * How to run `argv` for a session inside its sandbox (e.g. a command an extension runs for it): the
   * argument vector to start and the environment's changes (null removes a variable).
   */
  sandboxCommand(sessionId: string, argv: readonly string[]): { argv: string[]; env: Record<string, string | null> } {
    const rt = this.registry.require(sessionId);
    const launch = (this.options.sandbox ?? NO_SANDBOX).prepare(rt.state);
    return { argv: [...launch.prefix, ...argv], env: { ...launch.env } };
  }

  updateSettings(settings: EngineSettings): void {
    this.settings = settings;
    for (const rt of this.registry.all()) this.runner.armIdleTimer(rt);
  }

  /** Keeps an environment variable out of every session started from now on. */
  markSecretEnv(name: string): Disposable {
    return this.secretEnv.mark(name);
  }

  /** The variables marked secret now. */
  secretEnvNames(): ReadonlySet<string> {
    return this.secretEnv.names();
  }

  get secretEnvCount(): number {
    return this.secretEnv.size;
  }

  // ---- delivery ---------------------------------------------------------------------------------

  /**
   * Registers a callback for every session event. Each callback has its own queue, so a slow one only
   * delays itself. Results that finished while no callback was registered are handed to the first one.
   */
  onDelivery(callback: DeliveryCallback): Disposable {
    return this.delivery.register(callback);
  }

  /**
   * Registers a frontend: the results of sessions labelled `frontend: <name>` go to `frontend.deliver`
   * until it acknowledges them (kept on disk meanwhile, across restarts); its `onEvent` gets every
   * other event, like a delivery callback.
   */
  addFrontend(name: string, frontend: Frontend): Disposable {
    return this.delivery.registerFrontend(name, frontend);
  }

  /** Hands held results to every registered callback; from now on results go out as they come. */
  openDelivery(): void {
    if (this.delivery.isOpen) return;
    this.delivery.open();
    for (const rt of this.registry.all()) this.runner.schedulePump(rt);
  }

  /**
   * Holds results and keeps new prompts from starting (while extensions start or reload), so no
   * result is handed to a half-registered set of callbacks and no process starts without its MCP
   * servers and tool limits. openDelivery() resumes both.
   */
  pauseDelivery(): void {
    this.delivery.pause();
  }

  get deliveryCallbackCount(): number {
    return this.delivery.callbackCount;
  }

  /** Follows one prompt's events (for a client streaming them); not a delivery callback. */
  watchPrompt(promptId: string, listener: (event: EngineEvent) => void): Disposable {
    return this.delivery.watchPrompt(promptId, listener);
  }

  /**
   * Hands an extension's event about a session (a question, a notice) to the delivery callbacks and
   * to whoever follows the session's current prompt.
   */
  publish(sessionId: string, extension: string, kind: string, data: Readonly<Record<string, unknown>>): void {
    const rt = this.registry.require(sessionId);
    this.delivery.emit(rt.state, rt.state.current?.promptId, { type: 'extension', extension, kind, data });
  }

  // ---- sessions ---------------------------------------------------------------------------------

  createSession(request: NewSessionRequest & { user: string }): SessionSummary {
    return this.registry.create(request).summary();
  }

  listSessions(user?: string): SessionSummary[] {
    return this.registry
      .all()
      .filter((rt) => user === undefined || rt.state.user === user)
      .sort((a, b) => a.state.createdAt.localeCompare(b.state.createdAt))
      .map((rt) => rt.summary());
  }

  getSession(sessionId: string): SessionSummary | undefined {
    return this.registry.get(sessionId)?.summary();
  }

  /** A session by id or by name; with a user, only that user's sessions are found. */
  findSession(ref: string, user?: string): SessionSummary {
    return this.registry.resolve(ref, user).summary();
  }

  /** The directory holding a session's files (state, prompts, stream, its MCP config). */
  sessionDir(sessionId: string): string {
    return this.store.files(sessionId).dir;
  }

  /** Gives a session a new name, unique among its user's sessions. */
  renameSession(sessionId: string, name: string): SessionSummary {
    return this.registry.rename(sessionId, name).summary();
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.registry.delete(sessionId);
    this.delivery.forgetSession(sessionId);
  }

  /** An ephemeral session whose work is done is removed, unless a result of it still waits for its frontend. */
  private async removeEphemeral(sessionId: string): Promise<void> {
    if (this.delivery.awaitsFrontend(sessionId)) {
      this.log.info('an ephemeral session is kept until its frontend has its results', { session: sessionId });
      return;
    }
    await this.deleteSession(sessionId);
  }

  // ---- prompts ----------------------------------------------------------------------------------

  /** Queues a prompt (persisted before this returns) and starts it when the session is free. */
  submit(request: SubmitRequest): Submitted {
    if (this.closed) throw new InvalidRequestError('the engine is shutting down');
    if (typeof request.text !== 'string' || request.text.trim().length === 0) throw new InvalidRequestError('the prompt is empty');
    validateUser(request.user);
    let rt: SessionRuntime;
    if (request.newSession) {
      rt = this.registry.create({ user: request.user, ...request.newSession });
    } else if (request.session !== undefined) {
      rt = this.registry.resolve(request.session, request.user);
    } else {
      rt = this.registry.latestOf(request.user) ?? this.registry.create({ user: request.user });
    }
    const { prompt, position } = this.runner.enqueue(rt, request.text, request.options ?? {}, { fromSession: request.fromSession, id: request.promptId });
    return { session: rt.summary(), prompt, position };
  }

  getPrompt(sessionId: string, promptId: string): PromptRecord {
    this.registry.require(sessionId);
    const prompt = this.store.loadPrompt(sessionId, promptId);
    if (!prompt) throw new PromptNotFoundError(sessionId, promptId);
    return prompt;
  }

  /** The newest prompt of a session (running, else last queued, else last finished). */
  latestPromptId(sessionId: string): string | undefined {
    const rt = this.registry.require(sessionId);
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

  /** The prompts waiting in a session's queue, in the order they will run; silent ones are left out. */
  queuedPrompts(sessionId: string): QueuedPrompt[] {
    return waitingPrompts(this.registry.require(sessionId).queue);
  }

  /** Drops a prompt that has not started (its result: cancelled); false when it started or finished. */
  withdraw(sessionId: string, promptId: string, reason: string): Promise<boolean> {
    return this.runner.withdraw(this.registry.require(sessionId), promptId, reason);
  }

  /**
   * Interrupts the running turn with the CLI's interrupt message; if the turn has not ended within
   * `interrupt_grace`, the process is killed. With `clear`, queued prompts are dropped too.
   */
  async stop(ref: string, options: { user?: string; clear?: boolean } = {}): Promise<StopResult> {
    const rt = this.registry.resolve(ref, options.user);
    this.permissions.stopping(rt.state.id);
    const stopped = this.interrupt(rt, options.clear === true);
    this.delivery.emit(rt.state, stopped.interruptedPromptId, { type: 'stop', clearedPrompts: stopped.clearedPrompts });
    return stopped;
  }

  private interrupt(rt: SessionRuntime, clear: boolean): StopResult {
    const clearedPrompts = clear ? this.tracker.cancelQueued(rt) : 0;
    const interruptedPromptId = this.runner.interrupt(rt, 'stop');
    this.options.eventLog.record('stop', { session: rt.state.id, prompt: interruptedPromptId, cleared: clearedPrompts });
    return { sessionId: rt.state.id, interruptedPromptId, clearedPrompts };
  }

  /** A tool call of the running turn was cut by a restart and never made again: say so, then stop the turn. */
  async stopForLostToolCall(sessionId: string, call: { readonly server: string; readonly tool: string }): Promise<StopResult> {
    const rt = this.registry.require(sessionId);
    this.delivery.emit(rt.state, rt.state.current?.promptId, { type: 'tool_call_lost', server: call.server, tool: call.tool });
    return this.interrupt(rt, false);
  }

  // ---- start-up and shut-down -------------------------------------------------------------------

  /**
   * Rediscovers every session from the state dir and the host: turns still running are followed from
   * the delivered offset, results that arrived while the daemon was down are delivered, sessions whose
   * process died are marked dead, and queued prompts go on.
   */
  async recover(): Promise<void> {
    await recoverSessions({
      host: this.options.host,
      store: this.store,
      log: this.log,
      eventLog: this.options.eventLog,
      settings: () => this.settings,
      registry: this.registry,
      delivery: this.delivery,
      tracker: this.tracker,
      liveness: this.liveness,
      runner: this.runner,
    });
  }

  /**
   * Stops watching and timing; session processes keep running on the host, to be picked up by the
   * next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.runner.close();
    this.liveness.close();
    for (const rt of this.registry.all()) {
      rt.stopTimers();
      rt.unwatch();
    }
    this.delivery.close();
    await this.delivery.drained();
  }

  /** Ends every session process (for tests and `claude-ext` shutdown with --kill). */
  async terminateAll(): Promise<void> {
    for (const rt of this.registry.all()) await this.runner.terminate(rt);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = { idle: 0, busy: 0, stopped: 0, dead: 0, warm: 0, queued: 0 };
    for (const rt of this.registry.all()) {
      counts[rt.state.status] = (counts[rt.state.status] ?? 0) + 1;
      if (rt.state.process) counts.warm = (counts.warm ?? 0) + 1;
      counts.queued = (counts.queued ?? 0) + rt.queue.length;
    }
    return counts;
  }
}

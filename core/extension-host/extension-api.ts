/**
 * What an extension is and what it may do: the only part of the daemon an extension is written against
 * (`claude-ext/extension`). Everything registered through an ExtensionContext is owned by the extension
 * and undone when it stops.
 */
import type { z } from 'zod';
import type { Tool } from '../../mcp/tool.ts';
import type { MethodAccess, Principal } from '../bridge/bridge-protocol.ts';
import type { AdminCredential } from '../bridge/credentials.ts';
import type { Disposable } from '../util/disposable.ts';
import type { EngineEvent } from '../sessions/events.ts';
import type { Frontend } from '../sessions/frontends.ts';
import type { Logger } from '../util/log.ts';
import type { SessionOverrides } from '../shaping/session-overrides.ts';
import type { NewSessionRequest, PromptOptions, PromptRecord, QueuedPrompt, SessionSummary, SubmitRequest } from '../sessions/session-types.ts';
import type { Redactor } from '../shaping/redaction.ts';
import type { Template } from '../shaping/templates.ts';
import type { ExtensionUsage } from '../usage/usage-types.ts';
import type { ExtensionApprovals } from '../approvals/approval-types.ts';

export { RpcError, RpcErrorCode } from '../bridge/rpc-protocol.ts';
export { parseParams } from '../bridge/bridge-params.ts';
export { duration, size, parseDuration, parseSize } from '../config/config-values.ts';
export { ensurePrivateDir, readJsonFile, writeFileAtomic, writeJsonAtomic } from '../util/files.ts';
export { newId } from '../util/ids.ts';
export { Waiters } from '../util/waiters.ts';
export { headAndTail, visibleText } from '../approvals/call-text.ts';
export { silentLogger, type Logger } from '../util/log.ts';
export { valuesRedactor, type Redactor } from '../shaping/redaction.ts';
export { DEFAULT_USER } from './acting-user.ts';
export { describeUsage, formatPercent, formatReset } from '../usage/usage-format.ts';
export { backgroundLabels, isBackgroundSession, leadLabels, leadOf } from './session-labels.ts';
export type { Disposable } from '../util/disposable.ts';
export type { MethodAccess, Principal } from '../bridge/bridge-protocol.ts';
export type { AdminCredential } from '../bridge/credentials.ts';
export type { SessionOverrides } from '../shaping/session-overrides.ts';
export type { EngineEvent, ResultEvent, StreamEvent, TurnOutcome, TurnResult } from '../sessions/events.ts';
export type { Frontend } from '../sessions/frontends.ts';
export type { AuthMode, DailyCost, ExtensionUsage, SessionCost, UsageSnapshot, UsageWindow } from '../usage/usage-types.ts';
export type { ApprovalAnswer, ApprovalRequest, ApprovalRule, ExtensionApprovals } from '../approvals/approval-types.ts';
export type { ApprovalDecision, ApprovalRequestFields } from '../sessions/events.ts';
export type { NewSessionRequest, PromptOptions, SessionSummary, PromptRecord, QueuedPrompt } from '../sessions/session-types.ts';

export type Health = { readonly status: 'ok'; readonly detail?: string } | { readonly status: 'degraded' | 'error'; readonly reason: string };

export interface Extension<Config = unknown> {
  readonly name: string;
  readonly description?: string;
  /** Extensions that must run first; a missing one keeps this one from starting. */
  readonly dependencies?: readonly string[];
  /** Extensions that start first when they are enabled; nothing happens when they are not. */
  readonly softDependencies?: readonly string[];
  /** Validates `extensions.<name>` of config.yaml before `start`; its output is `ctx.config`. */
  readonly configSchema?: z.ZodType<Config>;
  start(ctx: ExtensionContext<Config>): void | Promise<void>;
  /** Called before the context's registrations are undone. */
  stop?(): void | Promise<void>;
  /** Applies a changed configuration in place; without it a change restarts the extension. */
  reconfigure?(config: Config): void | Promise<void>;
  healthCheck?(): Health | Promise<Health>;
}

/** An extension module's default export: the extension, or a function making a fresh one per start. */
export type ExtensionModule<Config = unknown> = Extension<Config> | (() => Extension<Config>);

/**
 * Tools the daemon serves to sessions itself, over MCP on loopback: no process per session, ready
 * before the session's first turn. Handlers run in the daemon; `ctx.bridge` in a handler calls
 * this extension's bridge methods in-process, as the session.
 */
export interface ToolServerSpec {
  /** Unique among all extensions' servers; tools appear to the model as `mcp__<server>__<tool>`. */
  readonly server: string;
  /** Made with `defineTool` from `claude-ext/mcp`. */
  readonly tools: readonly Tool[];
  /** Told to the model once, on how to use the tools together. */
  readonly instructions?: string;
  /** Templates can exclude servers by tag. */
  readonly tags?: readonly string[];
  /** Only for some sessions (default: all). */
  readonly when?: (session: SessionSummary) => boolean;
  /**
   * Tools (by name) a session in `permission_mode: approve` calls without asking a person, besides
   * those marked `readOnlyHint`: only tools that touch nothing but the daemon's own records of the
   * session's user. A tool that runs commands, or hands work to other sessions, must not be here.
   */
  readonly withoutApproval?: readonly string[];
}

/** An MCP server the CLI starts as its own process for each session (stdio), for what needs a process. */
export interface McpServerSpec {
  /** Unique among all extensions' servers; tools appear to the model as `mcp__<name>__<tool>`. */
  readonly name: string;
  /** A TypeScript or JavaScript file run with Node (TypeScript through tsx)... */
  readonly script?: string;
  /** ...or any command with its arguments. */
  readonly command?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Templates can exclude servers by tag. */
  readonly tags?: readonly string[];
  /** Only for some sessions (default: all). */
  readonly when?: (session: SessionSummary) => boolean;
}

/** A bridge call as a handler sees it: who calls, and for session callers the session. */
export interface BridgeCall<Access extends MethodAccess = MethodAccess> {
  readonly principal: Principal;
  /** The calling session, derived from its token (never from params): always there for `session` methods. */
  readonly session: Access extends 'session' ? SessionSummary : Access extends 'admin' ? undefined : SessionSummary | undefined;
  readonly signal: AbortSignal;
  progress(data: unknown): void;
  /**
   * Set when another extension calls as the admin acting for one user (`ctx.callMethod` with `user`):
   * `actingUser` and `visibleUser` then answer that user only. Grant nothing reserved to the admin
   * itself (the terminal) to such a call.
   */
  readonly actingFor?: string;
  /**
   * The user the call acts for: a session's own user (a `requested` user naming anyone else is
   * refused), else the user the admin names, else `DEFAULT_USER`.
   */
  actingUser(requested?: string): string;
  /**
   * Whose things the caller may see: a session only its user's; the admin the user it names, or
   * every user (`undefined`) when it names none.
   */
  visibleUser(requested?: string): string | undefined;
}

/** How `ctx.callMethod` calls a bridge method. */
export interface MethodCallOptions {
  /** Act for this user only: the method sees and touches this user's things, as for a user's session. */
  readonly user?: string;
  readonly signal?: AbortSignal;
}

/** How a bridge method is called: its params (validated before the handler runs) and who may call it. */
export interface BridgeMethodSpec<Params extends z.ZodType, Access extends MethodAccess> {
  readonly params: Params;
  /** Default `session`. */
  readonly access?: Access;
}

export type BridgeHandler<Params extends z.ZodType, Access extends MethodAccess> = (params: z.output<Params>, call: BridgeCall<Access>) => unknown;

/** What extensions may do with sessions: find them, start them, give them prompts, stop them. */
export interface ExtensionSessions {
  /** Where sessions that name no working directory run (relative directories start here). */
  readonly defaultCwd: string;
  list(user?: string): SessionSummary[];
  get(sessionId: string): SessionSummary | undefined;
  /** A session by id or name; with a user, only that user's. Throws when there is none. */
  find(ref: string, user?: string): SessionSummary;
  create(request: NewSessionRequest & { readonly user: string }): SessionSummary;
  rename(sessionId: string, name: string): SessionSummary;
  delete(sessionId: string): Promise<void>;
  /** Queues a prompt (persisted before this returns); a new session when `newSession` says so. */
  submit(request: SessionPromptRequest): { readonly session: SessionSummary; readonly prompt: PromptRecord; readonly position: number };
  /** Interrupts the running turn; with `clear`, drops the queued prompts too. */
  stop(ref: string, options?: { readonly user?: string; readonly clear?: boolean }): Promise<{ readonly sessionId: string; readonly interruptedPromptId: string | undefined; readonly clearedPrompts: number }>;
  /**
   * Takes back a prompt that is still queued: it gets a `cancelled` result saying `reason`, and never
   * runs. False when it has started or finished (it then runs to its end as usual).
   */
  withdraw(sessionId: string, promptId: string, reason: string): Promise<boolean>;
  /**
   * The prompts waiting in a session's queue (not the running one), in the order they will run: id,
   * the text's first 200 characters, position (1 runs next) and when it was queued. Silent prompts
   * (extensions' own) are left out, and positions count only the prompts listed.
   */
  queued(sessionId: string): QueuedPrompt[];
  getPrompt(sessionId: string, promptId: string): PromptRecord;
  /** Resolves once the prompt has its result (at once when it has one). */
  waitForPrompt(sessionId: string, promptId: string, signal?: AbortSignal): Promise<PromptRecord>;
  /** Follows one prompt's events until disposed (or the extension stops). */
  watchPrompt(promptId: string, listener: (event: EngineEvent) => void): Disposable;
  /** How many sessions are idle, busy, stopped, dead, warm, and how many prompts are queued. */
  counts(): Readonly<Record<string, number>>;
  /**
   * How to run a command for a session inside that session's sandbox (a command a tool runs for it):
   * the argument vector to start, in the session's working directory, and the changes to make to its
   * environment (null removes a variable). Without a sandbox, `argv` unchanged.
   */
  sandboxCommand(sessionId: string, argv: readonly string[]): { readonly argv: string[]; readonly env: Readonly<Record<string, string | null>> };
}

/** A prompt for a session, as the engine takes it. */
export type SessionPromptRequest = SubmitRequest;

export type SystemPromptFragment = string | ((session: SessionSummary) => string | undefined);

export type SessionCustomizer = (session: SessionSummary) => SessionOverrides | undefined;

export type PrePromptHook = (session: SessionSummary, prompt: PromptRecord) => SessionOverrides | undefined | Promise<SessionOverrides | undefined>;

export interface ServiceAccess {
  /** A service another extension provides; throws a clear error when nobody does. */
  get<T>(name: string): T;
  find<T>(name: string): T | undefined;
}

export interface ExtensionContext<Config = unknown> {
  readonly name: string;
  /** The extension's current configuration: a reload updates it before `reconfigure` runs. */
  readonly config: Config;
  readonly logger: Logger;
  /** The extension's own private directory: `<state_dir>/data/<name>` (0700). */
  readonly dataDir: string;
  readonly stateDir: string;
  /**
   * The daemon's environment as it started, with the `.env` file's variables filled in. Read variables
   * here, not from `process.env`: once extensions have started, the daemon removes its own
   * `CLAUDE_EXT_*` variables and every name marked secret from `process.env`.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A path from the extension's config: `~` expanded, relative to the config file's directory. */
  resolvePath(configured: string): string;
  /** The directory the extension was loaded from. */
  readonly extensionDir: string;
  readonly sessions: ExtensionSessions;
  /** How much of the account's limits and money sessions use: the 5-hour and 7-day utilisation, costs from the event log. */
  readonly usage: ExtensionUsage;
  /**
   * Tool calls of sessions in `permission_mode: approve` waiting for a person: list them, answer them
   * (as a user, who must be the session's own, or as the admin), and the stored rules that answer
   * calls without asking. Frontends hear of them through `approval_requested` / `approval_resolved` events.
   */
  readonly approvals: ExtensionApprovals;
  readonly services: ServiceAccess;
  /** Session templates that can be used now (built-in, from config, from extensions). */
  listTemplates(): Array<{ name: string; description: string }>;
  /** Every enabled extension with its health, as `claude-ext status` shows it. */
  extensionsHealth(): Promise<Array<{ name: string; state: string; health: Health }>>;

  provideService<T>(name: string, service: T): Disposable;
  /** Tools served by the daemon to every session they apply to (the usual way to give sessions tools). */
  addTools(spec: ToolServerSpec): Disposable;
  /** A stdio MCP server the CLI starts per session; it calls back over the Unix-socket bridge. */
  addMcpServer(spec: McpServerSpec): Disposable;
  addSystemPrompt(fragment: SystemPromptFragment): Disposable;
  /**
   * Registers `<extension>.<method>` on the bridge; `method` may be given with or without the
   * `<extension>.` prefix (callers always use it, so a protocol.ts can name each method once). Params are validated by `spec.params` (a mismatch
   * is an InvalidParams error naming the field); `spec.access` defaults to `session`.
   */
  addBridgeMethod<Params extends z.ZodType, Access extends MethodAccess = 'session'>(
    method: string,
    spec: BridgeMethodSpec<Params, Access>,
    handler: BridgeHandler<Params, Access>,
  ): Disposable;
  /** Every session event, in order; a slow callback only delays itself. */
  onEvent(callback: (event: EngineEvent) => void | Promise<void>): Disposable;
  /**
   * Makes this extension the frontend named after it: results of sessions labelled `frontend: <name>`
   * go to `frontend.deliver` until it acknowledges them (kept on disk meanwhile, across restarts and
   * while the extension is not running); `frontend.onEvent` gets every other event, as `onEvent` would.
   */
  addFrontend(frontend: Frontend): Disposable;
  addSessionCustomizer(customizer: SessionCustomizer): Disposable;
  addPrePromptHook(hook: PrePromptHook): Disposable;
  addTemplate(template: Omit<Template, 'source'>): Disposable;
  /**
   * Keeps an environment variable out of every session's environment, and out of the daemon's own
   * `process.env` (removed after extensions start and after each reload; `ctx.env` keeps it).
   */
  markSecretEnv(name: string): Disposable;
  /**
   * Keeps a file or directory of the extension's (an absolute path: a key file, a passphrase file
   * outside the state dir) out of every session's sandbox from the session's next launch on. The
   * extension's data directory is inside the state dir, which sessions never see.
   */
  hideFromSessions(path: string): Disposable;
  /**
   * Hides secret values in every event frontends get and in stored results. The redactor is given the
   * user the text belongs to (the session's user): hide that user's secrets and those of nobody in
   * particular (a bot token), never another user's, or one user could test guesses of another's
   * secret by watching what becomes `[REDACTED]`. `valuesRedactor` does this for a function of the user.
   */
  addRedactor(redactor: Redactor): Disposable;
  /** Publishes an event about a session to every frontend (and to whoever follows its prompt). */
  publish(sessionId: string, kind: string, data: Readonly<Record<string, unknown>>): void;
  setTimeout(callback: () => void, ms: number): Disposable;
  setInterval(callback: () => void, ms: number): Disposable;
  /**
   * Calls a bridge method (another extension's, or the daemon's) in-process as the admin, with
   * `options.user` as the admin acting for that user only. Params are validated by the method's schema
   * and failures are the RpcErrors a socket client gets (`InvalidParams` naming the field,
   * `MethodNotFound` when the extension is not running, a typed error's code in `dataCode`).
   */
  callMethod<T = unknown>(method: string, params?: Record<string, unknown>, options?: MethodCallOptions): Promise<T>;
  /**
   * Checks a credential a client of the extension presents against the admin's (`matches`, in
   * constant time), and a `fingerprint` that changes when the admin credential does; the credential
   * itself is never handed out, so no extension needs to read `admin.token`.
   */
  readonly adminCredential: AdminCredential;
  /** Records an event in the daemon's event log, tagged with the extension. */
  record(type: string, fields?: Record<string, unknown>): void;
  /** Adds any other cleanup to the extension's lifetime. */
  track<T extends Disposable>(disposable: T): T;
}

/** What a command an extension adds to the `claude-ext` CLI gets. */
export interface CommandContext {
  /** The arguments after the command name (without `--config FILE`). */
  readonly args: readonly string[];
  /** Calls the daemon as the admin (methods of extensions are `<extension>.<method>`). */
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  /** Reads a secret: from the terminal without echo, else the whole of stdin minus its final newline. */
  readSecret(prompt: string): Promise<string>;
}

/** A CLI command an extension adds: `extensions/<name>/cli.ts` exports `commands`. */
export interface ExtensionCommand {
  readonly name: string;
  /** One line for `claude-ext help <extension>`. */
  readonly usage: string;
  run(ctx: CommandContext): Promise<number>;
}

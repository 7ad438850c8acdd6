import fs from 'node:fs';
import os from 'node:os';
import { findClaudeBinary } from './sessions/claude/claude-binary.ts';
import path from 'node:path';
import type { Principal } from './bridge/bridge-protocol.ts';
import { loadConfig, ConfigError, type Config, type LoadedConfig } from './config/config.ts';
import { dropDaemonSecrets } from './config/daemon-env.ts';
import { Contributions } from './extension-host/contributions.ts';
import { registerControlApi } from './bridge/control-api.ts';
import { adminCredential, loadOrCreateAdminToken, secretsEqual, SessionTokens } from './bridge/credentials.ts';
import { ClaudeEngine, type EngineSettings } from './sessions/engine.ts';
import { defaultMaxWarm } from './sessions/engine-settings.ts';
import { ExtensionHost } from './extension-host/extension-host.ts';
import { redactEvent } from './shaping/redaction.ts';
import { SessionComposer } from './shaping/session-composer.ts';
import { TemplateRegistry } from './shaping/templates.ts';
import { EventLog } from './sessions/event-log.ts';
import { approvalsFor } from './approvals/engine-approvals.ts';
import { ensurePrivateDir, privateDirProblems, writeFileAtomic } from './util/files.ts';
import { createLogger, fileSink, stderrSink, type Logger } from './util/log.ts';
import { BUILTIN_EXTENSIONS_DIR, daemonPaths, PACKAGE_ROOT } from './config/paths.ts';
import { chooseSandbox, type SandboxChoice } from './sessions/sandbox/sandbox-setup.ts';
import { DEFAULT_ROOTS_KEY } from './sessions/working-roots.ts';
import { CallJournal } from './mcp-endpoint/call-journal.ts';
import { McpEndpoint } from './mcp-endpoint/endpoint.ts';
import { ToolGrants } from './mcp-endpoint/tool-grants.ts';
import { RpcServer } from './bridge/rpc-server.ts';
import { TmuxHost, tmuxAvailable } from './sessions/host/tmux-host.ts';
import { packageVersion } from './util/version.ts';
import { usageFor } from './usage/engine-usage.ts';

export interface DaemonOptions {
  readonly configPath?: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Also log to stderr (the foreground `start`). */
  readonly logToStderr?: boolean;
}

export interface RunningDaemon {
  readonly engine: ClaudeEngine;
  readonly extensions: ExtensionHost;
  readonly contributions: Contributions;
  readonly config: Config;
  readonly logger: Logger;
  reload(): Promise<{ ok: true; warnings: string[] } | { ok: false; error: string }>;
  /**
   * Stops serving, within SHUTDOWN_TIMEOUT_MS whatever extensions do; session processes keep running
   * for the next start.
   */
  shutdown(): Promise<ShutdownReport>;
  /** What the shutdown is waiting for now ('' when it is not running or has finished). */
  shutdownStep(): string;
}

/** How a shutdown ended. */
export interface ShutdownReport {
  /** Every step finished within the time allowed. */
  readonly complete: boolean;
  /** Work given up on: extensions whose stop() never returned, a step the deadline cut short. */
  readonly unfinished: string[];
}

/** From the signal to the end of the process, whatever an extension does. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;
/** Of it, what is kept for the engine and the logs after the extensions have had their turn. */
const AFTER_EXTENSIONS_MS = 2_000;

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export function engineSettings(config: Config): EngineSettings {
  return {
    permissionMode: config.engine.permission_mode,
    model: config.engine.model,
    partialMessages: config.engine.partial_messages,
    extraArgs: config.engine.extra_args,
    // The CLI connects MCP servers in the background unless told to wait (up to the timeout) before
    // the first turn: without it a first-turn tool call finds its server "still connecting".
    env: { MCP_CONNECTION_NONBLOCKING: '0', MCP_CONNECT_TIMEOUT_MS: String(config.mcp.connect_timeout), ...config.engine.env },
    interruptGraceMs: config.engine.interrupt_grace,
    maxPerUser: config.sessions.max_per_user,
    idleTimeoutMs: config.sessions.idle_timeout,
    maxWarm: config.sessions.max_warm ?? defaultMaxWarm(os.totalmem()),
    promptTimeoutMs: config.sessions.prompt_timeout,
    defaultCwd: config.sessions.default_cwd,
    roots: config.sessions.roots,
  };
}

/** The environment sessions inherit: the daemon's own, with `.env` filling in what it lacks. */
function sessionBaseEnv(processEnv: NodeJS.ProcessEnv, loaded: LoadedConfig): NodeJS.ProcessEnv {
  return { ...loaded.env, ...processEnv };
}

/** Starts the daemon: config, state dir, logs, engine, control socket, recovery. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  // What the daemon started with, kept to itself: process.env loses the daemon's own variables now and
  // the names extensions mark secret once they have started. /proc/<pid>/environ still shows the
  // initial block (docs/configuration.md, "Variables").
  const env: NodeJS.ProcessEnv = { ...options.env };
  dropDaemonSecrets(process.env);
  let loaded = loadConfig({ ...(options.configPath ? { configPath: options.configPath } : {}), cwd: options.cwd, env });
  const config = loaded.config;
  process.umask(0o077);
  ensurePrivateDir(config.state_dir);
  // Sessions, tokens and the control socket live there: a directory others can reach is refused, not used.
  const stateDirProblems = privateDirProblems(config.state_dir);
  if (stateDirProblems.length > 0) {
    throw new StartupError(`the state dir ${config.state_dir} is not private to the daemon's user: ${stateDirProblems.join('; ')}; then start again`);
  }
  const paths = daemonPaths(config.state_dir);
  const logFile = fileSink(paths.log);
  const logger: Logger = createLogger({ level: config.log_level, sinks: options.logToStderr ? [logFile, stderrSink] : [logFile] });
  for (const warning of loaded.warnings) logger.warn(warning);

  if (!tmuxAvailable()) throw new StartupError('tmux is not installed: install it (e.g. `apt-get install tmux`) and start again');
  const claude = findClaudeBinary(config.engine.claude_path, env.PATH);
  if (!claude) throw new StartupError('the claude CLI was not found: set engine.claude_path, put `claude` on PATH, or run `npm install`');

  const templates = new TemplateRegistry();
  applyTemplates(templates, loaded);
  const sessionDir = (id: string): string => path.join(paths.sessions, id);
  const daemonHome = options.env.HOME ?? os.homedir();
  const daemonStartedAt = Date.now();
  let engineRef: ClaudeEngine | undefined;
  let sandboxChoice: SandboxChoice;
  try {
    sandboxChoice = await chooseSandbox({
      mode: config.sandbox.mode,
      searchPath: options.env.PATH,
      packageRoot: PACKAGE_ROOT,
      claudePath: claude.path,
      extensionDirs: () => [BUILTIN_EXTENSIONS_DIR, ...loaded.config.extensions_dirs],
      stateDir: config.state_dir,
      daemonHome,
      claudeConfigDir: options.env.CLAUDE_CONFIG_DIR ?? path.join(daemonHome, '.claude'),
      settings: () => loaded.config.sandbox,
      templatePaths: (name) => templates.get(name)?.sandbox,
      secretFiles: () => [...(loaded.file ? [loaded.file, path.join(path.dirname(loaded.file), '.env')] : []), ...contributions.listHiddenPaths()],
      otherUsersDirs: (user) => otherUsersDirs(engineRef, loaded.config, user),
      exposedFiles: (sessionId) => [path.join(sessionDir(sessionId), 'mcp.json'), paths.socket],
    });
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
  if (sandboxChoice.warning) logger.warn(sandboxChoice.warning);
  const eventLog = new EventLog({ file: paths.events, maxBytes: config.logs.max_bytes, keep: config.logs.keep });
  const host = new TmuxHost(paths.tmuxSocket);
  const adminToken = loadOrCreateAdminToken(config.state_dir);
  const tokens = new SessionTokens(config.state_dir);
  const contributions = new Contributions();
  let gatewayMode = config.engine.gateway_mode;
  const grants = new ToolGrants(sessionDir);
  let endpoint: McpEndpoint | undefined;
  const composer = new SessionComposer({
    contributions,
    templates,
    tokens,
    grants,
    stateDir: config.state_dir,
    socketPath: paths.socket,
    sessionDir,
    endpointUrl: () => (endpoint as McpEndpoint).url,
    logger: logger.child('composer'),
    gatewayMode: () => gatewayMode,
    permissionMode: (user) => loaded.config.engine.user_permission_modes[user] ?? loaded.config.engine.permission_mode,
  });
  const engine = new ClaudeEngine({
    stateDir: config.state_dir,
    host,
    claudePath: claude.path,
    settings: engineSettings(config),
    logger: logger.child('engine'),
    eventLog,
    baseEnv: sessionBaseEnv(env, loaded),
    composer,
    templateCwd: (name) => templates.get(name)?.cwd,
    holdDelivery: true,
    sandbox: sandboxChoice.sandbox,
    redact: (event) => redactEvent(event, contributions.listRedactors()),
  });
  engineRef = engine;
  const usage = usageFor(engine, { eventLog, claudePath: claude.path, config: () => loaded.config, baseEnv: () => sessionBaseEnv(env, loaded) });
  const approvals = approvalsFor(engine, { stateDir: config.state_dir, eventLog, log: logger.child('approvals'), timeoutMs: () => loaded.config.approvals.timeout });
  let ready = false;
  const authenticate = (token: string): Principal | undefined | 'not-ready' => {
    if (secretsEqual(token, adminToken)) return { kind: 'admin' };
    const grant = tokens.verify(token);
    // Tokens of daemon-served tools open the MCP endpoint only, never the socket.
    if (!grant || grant.channel !== 'bridge') return undefined;
    // Sessions are not known until recovery: a session's MCP server must come back, not be refused.
    if (!ready) return 'not-ready';
    const session = engine.getSession(grant.sessionId);
    // Only while the session is still given a server of that extension.
    if (!session || !grants.hasExtension(session.id, grant.extension)) return undefined;
    return { kind: 'session', sessionId: session.id, user: session.user, extension: grant.extension };
  };
  const server = new RpcServer({ socketPath: paths.socket, logger: logger.child('rpc'), authenticate, maxConnections: config.bridge.max_connections });
  let extensionsStarted: () => void = () => undefined;
  endpoint = new McpEndpoint({
    logger: logger.child('mcp'),
    tokens,
    grants,
    journal: new CallJournal(paths.sessions),
    server: (name) => contributions.findServer(name),
    session: (id) => engine.getSession(id),
    dispatch: (method, params, call) => server.dispatch(method, params, call),
    stateDir: config.state_dir,
    ready: new Promise<void>((resolve) => (extensionsStarted = resolve)),
    // The session's CLI gave up on a call cut by the restart: end the turn rather than let it hang.
    onAbandoned: (sessionId, call) => {
      const session = engine.getSession(sessionId);
      if (!session?.currentPromptId) return;
      // Only the turn that was running when the daemon went down waits on that call.
      const startedAt = engine.getPrompt(sessionId, session.currentPromptId).startedAt;
      if (!startedAt || Date.parse(startedAt) >= daemonStartedAt) return;
      eventLog.record('tool_call_abandoned', { session: sessionId, server: call.server, tool: call.tool });
      logger.warn('a tool call cut by a restart was not resumed by its session; stopping that turn', { session: sessionId, tool: call.tool });
      void engine.stopForLostToolCall(sessionId, call).catch((error: unknown) => logger.warn('could not stop the turn', { session: sessionId, error }));
    },
  });
  const extensions = new ExtensionHost(
    { engine, approvals, usage, server, contributions, templates, eventLog, logger: logger.child('ext'), stateDir: config.state_dir, timers: new Set(),
      env: () => sessionBaseEnv(env, loaded), configDir: () => (loaded.file ? path.dirname(loaded.file) : options.cwd), adminCredential: adminCredential(adminToken) },
    BUILTIN_EXTENSIONS_DIR,
  );

  const reload = async (): Promise<{ ok: true; warnings: string[] } | { ok: false; error: string }> => {
    try {
      const next = loadConfig({ ...(loaded.file ? { configPath: loaded.file } : {}), cwd: options.cwd, env });
      if (next.config.state_dir !== config.state_dir) next.warnings.push('state_dir changed: it takes effect at the next start');
      if (JSON.stringify(next.config.mcp.listen) !== JSON.stringify(config.mcp.listen)) next.warnings.push('mcp.listen changed: it takes effect at the next start');
      const checked = new TemplateRegistry();
      applyTemplates(checked, next);
      if (!ready) return { ok: false, error: 'the daemon is still starting; reload again in a moment' };
      engine.pauseDelivery();
      let report: Awaited<ReturnType<ExtensionHost['apply']>>;
      try {
        report = await extensions.apply(next.config, { strict: true, locate: next.locate });
      } finally {
        engine.openDelivery();
        dropDaemonSecrets(process.env, engine.secretEnvNames());
      }
      applyTemplates(templates, next);
      const usageChanged = JSON.stringify(next.config.usage) !== JSON.stringify(loaded.config.usage);
      loaded = next;
      if (usageChanged) usage.sourceChanged();
      gatewayMode = next.config.engine.gateway_mode;
      server.setMaxConnections(next.config.bridge.max_connections);
      engine.updateSettings(engineSettings(next.config));
      for (const [name, reason] of Object.entries(report.failed)) next.warnings.push(`extension ${name}: ${reason}`);
      eventLog.reconfigure({ maxBytes: next.config.logs.max_bytes, keep: next.config.logs.keep });
      for (const warning of next.warnings) logger.warn(warning);
      eventLog.record('reload', { ok: true, file: next.file, warnings: next.warnings });
      logger.info('configuration reloaded', { file: next.file });
      return { ok: true, warnings: next.warnings };
    } catch (error) {
      const message = (error as Error).message;
      eventLog.record('reload', { ok: false, error: message });
      logger.error(`reload refused, the running configuration stays: ${message}`);
      return { ok: false, error: message };
    }
  };

  const info = {
    pid: process.pid,
    startedAt: Date.now(),
    version: packageVersion(),
    stateDir: config.state_dir,
    configFile: loaded.file,
    claudePath: claude.path,
    host: host.kind,
    sandbox: { mode: sandboxChoice.sandbox.mode, ...(sandboxChoice.warning ? { warning: sandboxChoice.warning } : {}) },
  };
  let markRecovered: () => void = () => undefined;
  const whenRecovered = new Promise<void>((resolve) => (markRecovered = resolve));
  const api = registerControlApi(server, { engine, usage, approvals, info, reload, extensions, templates, recovered: () => ready, whenRecovered });
  try {
    await server.listen();
    await endpoint.listen(config.mcp.listen, paths.mcpPort);
  } catch (error) {
    await server.close();
    api.dispose();
    eventLog.close();
    throw new StartupError((error as Error).message);
  }
  if (!isLoopback(config.mcp.listen.host)) {
    logger.warn(`mcp.listen is ${config.mcp.listen.host}, not a loopback address: session tokens travel unencrypted to it`);
  }
  writeFileAtomic(paths.pid, `${process.pid}\n`);
  await engine.recover();
  ready = true;
  markRecovered();
  const startReport = await extensions.apply(loaded.config, { strict: false, locate: loaded.locate });
  for (const warning of startReport.warnings) logger.warn(warning);
  dropDaemonSecrets(process.env, engine.secretEnvNames());
  extensionsStarted();
  engine.openDelivery();
  approvals.start();
  approvals.announcePending();
  eventLog.record('daemon_started', { pid: process.pid, config: loaded.file ?? null, claude: claude.path });
  logger.info('daemon started', { pid: process.pid, stateDir: config.state_dir, config: loaded.file ?? '(embedded defaults)', claude: claude.path });

  let stopping: Promise<ShutdownReport> | undefined;
  let step = '';
  const shutdownStep = (): string => (step === 'extensions' ? `stopping extensions (${extensions.unfinishedStops().join(', ') || 'none left'})` : step);
  const shutdown = (): Promise<ShutdownReport> =>
    (stopping ??= (async () => {
      logger.info('daemon stopping; session processes keep running');
      const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
      const steps = (async () => {
        step = 'closing the control socket';
        await server.close();
        step = 'closing the MCP endpoint';
        await endpoint.close();
        api.dispose();
        step = 'extensions';
        await extensions.stopAll({ deadline: deadline - AFTER_EXTENSIONS_MS });
        approvals.dispose();
        step = 'closing the engine (delivery callbacks still running)';
        await engine.close();
        step = '';
      })();
      const finished = await settlesWithin(steps, deadline - Date.now());
      const unfinished = [...extensions.unfinishedStops().map((name) => `the stop() of extension ${name}`), ...(finished ? [] : [shutdownStep()])];
      if (!finished) logger.error(`the daemon did not stop within ${SHUTDOWN_TIMEOUT_MS / 1000} s; giving up on: ${unfinished.join('; ')}`);
      else if (unfinished.length > 0) logger.warn(`daemon stopped; given up on: ${unfinished.join('; ')}`);
      else logger.info('daemon stopped');
      eventLog.record('daemon_stopped', { pid: process.pid, ...(unfinished.length > 0 ? { unfinished } : {}) });
      usage.dispose();
      eventLog.close();
      fs.rmSync(paths.pid, { force: true });
      return { complete: finished, unfinished };
    })());

  return { engine, extensions, contributions, config, logger, reload, shutdown, shutdownStep };
}

/** Whether `work` settles (either way) within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a user's sandbox hides of other users: their sessions' working directories and their configured roots. */
function otherUsersDirs(engine: ClaudeEngine | undefined, config: Config, user: string): string[] {
  const sessions = engine ? engine.listSessions().filter((s) => s.user !== user).map((s) => s.cwd) : [];
  const roots = Object.entries(config.sessions.roots).filter(([owner]) => owner !== user && owner !== DEFAULT_ROOTS_KEY).flatMap(([, dirs]) => dirs);
  // Hiding / would hide the system the session runs on.
  return [...new Set([...sessions, ...roots])].filter((dir) => dir !== '/');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Loads `templates:` of the config; an invalid one is a configuration error naming its key. */
function applyTemplates(templates: TemplateRegistry, loaded: LoadedConfig): void {
  const errors = templates.setConfigTemplates(loaded.config.templates, loaded.file ? path.dirname(loaded.file) : process.cwd());
  const first = errors[0];
  if (first) throw new ConfigError(first.message, loaded.file);
}

/**
 * Runs the daemon in the foreground until SIGTERM or SIGINT, then ends the process: within
 * SHUTDOWN_TIMEOUT_MS, and at once at a second signal. SIGHUP reloads the configuration.
 */
export async function runDaemonForeground(options: DaemonOptions): Promise<never> {
  // Installed first: a SIGHUP during start-up is a reload once started, never the default exit.
  let daemon: RunningDaemon | undefined;
  let reloadAfterStart = false;
  process.on('SIGHUP', () => {
    if (daemon) void daemon.reload();
    else reloadAfterStart = true;
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`claude-ext: an operation failed without a handler (the daemon goes on): ${reason instanceof Error ? reason.stack : String(reason)}\n`);
  });
  const started = await startDaemon({ ...options, logToStderr: true });
  daemon = started;
  if (reloadAfterStart) void started.reload();
  const report = await new Promise<ShutdownReport>((resolve) => {
    let signalled = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (signalled) {
        const step = started.shutdownStep();
        started.logger.warn(`${signal} during the shutdown: exiting at once${step ? ` (it was ${step})` : ''}`);
        process.exit(1);
      }
      signalled = true;
      void started.shutdown().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // What an extension left behind (a retry timer, a socket, its stop() still running) must not keep
  // the process alive: session processes run in tmux and are not affected.
  process.exit(report.complete ? 0 : 1);
}

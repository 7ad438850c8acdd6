import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, ConfigError } from '../config/config.ts';
import { runDaemonForeground, StartupError } from '../daemon.ts';
import type { EngineEvent } from '../sessions/events.ts';
import { daemonPaths } from '../config/paths.ts';
import { connectAsAdmin } from '../bridge/admin-client.ts';
import type { RpcClient } from '../bridge/rpc-client.ts';
import { RpcConnectionError, RpcError, RpcErrorCode } from '../bridge/rpc-protocol.ts';
import { BUILTIN_EXTENSIONS_DIR } from '../config/paths.ts';
import { extensionCommands, type FoundCommand } from './extension-commands.ts';
import { readSecret } from './secret-input.ts';
import type { PromptRecord, SessionSummary } from '../sessions/session-types.ts';
import { runDoctor } from './doctor.ts';
import { EventPrinter, sessionTable, type Output } from './render.ts';

const USAGE = `claude-ext — Claude Code sessions as an always-on service

Usage: claude-ext <command> [options]

  start [--config FILE]                     run the daemon in the foreground
  prompt [--user U] [--session S | --new [--name N] [--cwd DIR] [--template T]] [--model M] [--json] [--detach] TEXT|-
                                            send a prompt and stream its events (TEXT - reads stdin)
  wait --session S [--prompt P] [--user U] [--json]
                                            wait for a prompt's result (the newest when no --prompt)
  sessions [--user U] [--json]              list sessions
  stop SESSION [--clear] [--user U]         interrupt the running turn (--clear also drops the queue)
  delete SESSION [--user U]                 end a session and remove its files
  status [--json]                           the daemon: pid, uptime, sessions by status, extensions' health
  templates [--all] [--json]                session templates (--all includes hidden ones)
  reload                                    re-read config.yaml and .env (as SIGHUP does)
  doctor                                    check tmux, the claude CLI, authentication, the state dir

Every command takes --config FILE; without it ./config.yaml is used when present, else the defaults.
CLAUDE_EXT_STATE_DIR overrides the state dir.
`;

export interface CliContext {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly output: Output;
  readonly stdin: () => Promise<string>;
}

class UsageError extends Error {}

/** Runs one CLI command and returns the process exit code. */
export async function runCli(ctx: CliContext): Promise<number> {
  const [command, ...rest] = ctx.argv;
  try {
    switch (command) {
      case 'start':
        return await startCommand(ctx, rest);
      case 'prompt':
        return await promptCommand(ctx, rest);
      case 'wait':
        return await waitCommand(ctx, rest);
      case 'sessions':
        return await sessionsCommand(ctx, rest);
      case 'stop':
        return await stopCommand(ctx, rest);
      case 'delete':
        return await deleteCommand(ctx, rest);
      case 'status':
        return await statusCommand(ctx, rest);
      case 'reload':
        return await reloadCommand(ctx, rest);
      case 'templates':
        return await templatesCommand(ctx, rest);
      case 'doctor':
        return await runDoctor(ctx, parse(rest, { config: { type: 'string' } }).values.config);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        ctx.output.out(USAGE + (await extensionUsage(ctx)));
        return command === undefined ? 2 : 0;
      default:
        return await extensionCommand(ctx, command, rest);
    }
  } catch (error) {
    return reportError(ctx.output, error);
  }
}

function reportError(output: Output, error: unknown): number {
  if (error instanceof UsageError) {
    output.err(`claude-ext: ${error.message}\nRun \`claude-ext help\` for usage.\n`);
    return 2;
  }
  if (error instanceof ConfigError || error instanceof StartupError) {
    output.err(`claude-ext: ${error.message}\n`);
    return 2;
  }
  output.err(`claude-ext: ${(error as Error).message ?? String(error)}\n`);
  return 1;
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<O extends Options>(args: readonly string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const common = { config: { type: 'string' }, json: { type: 'boolean' }, user: { type: 'string' } } as const;

async function startCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' } });
  await runDaemonForeground({ ...(values.config ? { configPath: values.config } : {}), cwd: ctx.cwd, env: ctx.env });
  return 0;
}

/** Connects to the daemon found the way `start` finds its state dir. */
async function connect(ctx: CliContext, configPath: string | undefined): Promise<RpcClient> {
  const { config } = loadConfig({ ...(configPath ? { configPath } : {}), cwd: ctx.cwd, env: ctx.env });
  const socket = daemonPaths(config.state_dir).socket;
  try {
    return await connectAsAdmin(config.state_dir);
  } catch (error) {
    if (!(error instanceof RpcConnectionError)) throw error;
    throw new Error(`the daemon is not running (nothing answers on ${socket}): start it with \`claude-ext start\` (${error.message})`);
  }
}

async function promptCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...common, session: { type: 'string' }, new: { type: 'boolean' }, name: { type: 'string' }, cwd: { type: 'string' }, template: { type: 'string' }, model: { type: 'string' }, detach: { type: 'boolean' } },
    true,
  );
  if (positionals.length === 0) throw new UsageError('prompt needs TEXT (or - to read it from stdin)');
  if (values.new && values.session) throw new UsageError('--new and --session exclude each other');
  const text = positionals.length === 1 && positionals[0] === '-' ? await ctx.stdin() : positionals.join(' ');
  if (text.trim().length === 0) throw new UsageError('the prompt is empty');
  const params = {
    user: values.user ?? 'local',
    ...(values.session ? { session: values.session } : {}),
    ...(values.new ? { new: true } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.cwd ? { cwd: values.cwd } : {}),
    ...(values.template ? { template: values.template } : {}),
    ...(values.model ? { model: values.model } : {}),
    text,
  };
  const client = await connect(ctx, values.config);
  try {
    if (values.detach) {
      const ids = await client.call<{ sessionId: string; promptId: string; position: number }>('prompt.submit', params);
      ctx.output.out(`${JSON.stringify(ids)}\n`);
      return 0;
    }
    let ids: { sessionId: string; promptId: string } | undefined;
    const printer = new EventPrinter(ctx.output);
    const onProgress = (data: unknown): void => {
      const event = data as EngineEvent | { type: 'submitted'; sessionId: string; promptId: string };
      if (event.type === 'submitted') {
        ids = { sessionId: event.sessionId, promptId: event.promptId };
        if (values.json) ctx.output.out(`${JSON.stringify(event)}\n`);
        return;
      }
      if (values.json) ctx.output.out(`${JSON.stringify(event)}\n`);
      else printer.print(event);
    };
    let record: PromptRecord;
    try {
      record = (await client.call<{ prompt: PromptRecord }>('prompt.submit', { ...params, follow: true }, { onProgress })).prompt;
    } catch (error) {
      if (!(error instanceof RpcConnectionError) || !ids) throw error;
      ctx.output.err('claude-ext: lost the daemon; waiting for it to come back…\n');
      record = await waitAcrossRestart(ctx, values.config, ids, onProgress);
    }
    return finishPrompt(ctx, record, values.json === true, printer);
  } finally {
    client.close();
  }
}

/** The daemon went away mid-prompt: reconnect when it is back and wait for the same prompt. */
async function waitAcrossRestart(
  ctx: CliContext,
  configPath: string | undefined,
  ids: { sessionId: string; promptId: string },
  onProgress: (data: unknown) => void,
): Promise<PromptRecord> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const client = await connect(ctx, configPath);
      try {
        const answer = await client.call<{ prompt: PromptRecord }>('prompt.wait', { session: ids.sessionId, prompt: ids.promptId, follow: true }, { onProgress });
        return answer.prompt;
      } finally {
        client.close();
      }
    } catch (error) {
      if (Date.now() > deadline || error instanceof RpcError) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function finishPrompt(ctx: CliContext, record: PromptRecord, json: boolean, printer: EventPrinter): number {
  const result = record.result;
  if (json) {
    ctx.output.out(`${JSON.stringify({ type: 'result', sessionId: record.sessionId, promptId: record.id, result })}\n`);
  } else if (result) {
    printer.finish(result);
  }
  return result && !result.isError ? 0 : 1;
}

async function waitCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values } = parse(args, { ...common, session: { type: 'string' }, prompt: { type: 'string' } });
  if (!values.session) throw new UsageError('wait needs --session S');
  const client = await connect(ctx, values.config);
  try {
    const answer = await client.call<{ prompt: PromptRecord }>('prompt.wait', {
      session: values.session,
      ...(values.user ? { user: values.user } : {}),
      ...(values.prompt ? { prompt: values.prompt } : {}),
    });
    const result = answer.prompt.result;
    if (values.json) ctx.output.out(`${JSON.stringify(answer.prompt)}\n`);
    else if (result) {
      ctx.output.out(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
      new EventPrinter(ctx.output).finish(result);
    }
    return result && !result.isError ? 0 : 1;
  } finally {
    client.close();
  }
}

async function sessionsCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values } = parse(args, common);
  const client = await connect(ctx, values.config);
  try {
    const sessions = await client.call<SessionSummary[]>('session.list', values.user ? { user: values.user } : {});
    ctx.output.out(values.json ? `${JSON.stringify(sessions, null, 2)}\n` : sessionTable(sessions));
    return 0;
  } finally {
    client.close();
  }
}

async function deleteCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, common, true);
  const session = positionals[0];
  if (!session || positionals.length > 1) throw new UsageError('delete needs exactly one SESSION (id or name)');
  const client = await connect(ctx, values.config);
  try {
    const result = await client.call<{ deleted: string }>('session.delete', { session, ...(values.user ? { user: values.user } : {}) });
    ctx.output.out(values.json ? `${JSON.stringify(result)}\n` : `deleted ${result.deleted}\n`);
    return 0;
  } finally {
    client.close();
  }
}

async function stopCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...common, clear: { type: 'boolean' } }, true);
  const session = positionals[0];
  if (!session || positionals.length > 1) throw new UsageError('stop needs exactly one SESSION (id or name)');
  const client = await connect(ctx, values.config);
  try {
    const result = await client.call<{ sessionId: string; interruptedPromptId?: string; clearedPrompts: number }>('session.stop', {
      session,
      clear: values.clear === true,
      ...(values.user ? { user: values.user } : {}),
    });
    if (values.json) ctx.output.out(`${JSON.stringify(result)}\n`);
    else {
      const parts = [result.interruptedPromptId ? `interrupted ${result.interruptedPromptId}` : 'nothing was running'];
      if (values.clear) parts.push(`dropped ${result.clearedPrompts} queued prompt${result.clearedPrompts === 1 ? '' : 's'}`);
      ctx.output.out(`${result.sessionId}: ${parts.join('; ')}\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}

interface StatusAnswer {
  pid: number;
  uptimeMs: number;
  version: string;
  stateDir: string;
  configFile?: string;
  claudePath: string;
  host: string;
  sessions: Record<string, number>;
  extensions: { name: string; state: string; health: { status: string; reason?: string; detail?: string } }[];
}

async function statusCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' } });
  const client = await connect(ctx, values.config);
  try {
    const status = await client.call<StatusAnswer>('daemon.status', {});
    if (values.json) {
      ctx.output.out(`${JSON.stringify(status, null, 2)}\n`);
      return 0;
    }
    const s = status.sessions;
    ctx.output.out(
      [
        `claude-ext ${status.version} running, pid ${status.pid}, up ${formatUptime(status.uptimeMs)}`,
        `state dir: ${status.stateDir}`,
        `config:    ${status.configFile ?? '(embedded defaults)'}`,
        `claude:    ${status.claudePath} (host: ${status.host})`,
        `sessions:  ${s.busy ?? 0} busy, ${s.idle ?? 0} idle, ${s.stopped ?? 0} stopped, ${s.dead ?? 0} dead; ${s.warm ?? 0} warm; ${s.queued ?? 0} prompts queued`,
        `extensions: ${status.extensions.length === 0 ? 'none enabled' : ''}`,
        ...status.extensions.map((e) => `  ${e.name.padEnd(14)} ${e.health.status.padEnd(8)} ${e.health.reason ?? e.health.detail ?? ''}`.trimEnd()),
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    client.close();
  }
}

async function reloadCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' } });
  const client = await connect(ctx, values.config);
  try {
    const answer = await client.call<{ ok: boolean; warnings?: string[]; error?: string }>('daemon.reload', {});
    if (!answer.ok) {
      ctx.output.err(`claude-ext: reload refused, the running configuration stays: ${answer.error}\n`);
      return 1;
    }
    for (const warning of answer.warnings ?? []) ctx.output.err(`warning: ${warning}\n`);
    ctx.output.out('configuration reloaded\n');
    return 0;
  } finally {
    client.close();
  }
}

async function templatesCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' } });
  const client = await connect(ctx, values.config);
  try {
    const list = await client.call<{ name: string; description: string; source: string }[]>('template.list', { hidden: values.all === true });
    if (values.json) ctx.output.out(`${JSON.stringify(list, null, 2)}\n`);
    else for (const t of list) ctx.output.out(`${t.name.padEnd(14)} ${t.description} (${t.source})\n`);
    return 0;
  } finally {
    client.close();
  }
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Splits `--config FILE` off an extension command's arguments. */
function takeConfigOption(args: readonly string[]): { configPath: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let configPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--config') configPath = args[++i];
    else if (arg.startsWith('--config=')) configPath = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { configPath, rest };
}

async function commandsOf(ctx: CliContext, configPath: string | undefined): Promise<Map<string, FoundCommand>> {
  const { config } = loadConfig({ ...(configPath ? { configPath } : {}), cwd: ctx.cwd, env: ctx.env });
  return extensionCommands([BUILTIN_EXTENSIONS_DIR, ...config.extensions_dirs]);
}

/** A command an extension adds (`claude-ext vault set ...`), run against the daemon as the admin. */
async function extensionCommand(ctx: CliContext, name: string, args: readonly string[]): Promise<number> {
  const { configPath, rest } = takeConfigOption(args);
  const found = (await commandsOf(ctx, configPath)).get(name);
  if (!found) throw new UsageError(`unknown command "${name}"`);
  let client: RpcClient | undefined;
  try {
    return await found.command.run({
      args: rest,
      call: async <T>(method: string, params: Record<string, unknown> = {}) => {
        client ??= await connect(ctx, configPath);
        return client.call<T>(method, params);
      },
      out: (text) => ctx.output.out(text),
      err: (text) => ctx.output.err(text),
      readStdin: ctx.stdin,
      readSecret: (prompt) => readSecret(prompt, ctx.stdin),
    });
  } catch (error) {
    if (error instanceof RpcError && error.code === RpcErrorCode.MethodNotFound) {
      throw new Error(`${error.message}: is the ${found.extension} extension enabled? (add it to \`enabled\` in config.yaml and run \`claude-ext reload\`)`);
    }
    throw error;
  } finally {
    client?.close();
  }
}

async function extensionUsage(ctx: CliContext): Promise<string> {
  try {
    const found = await commandsOf(ctx, takeConfigOption(ctx.argv).configPath);
    if (found.size === 0) return '';
    return `\nCommands of extensions:\n${[...found.values()].map((f) => `  ${f.command.usage}`).join('\n')}\n`;
  } catch {
    return '';
  }
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

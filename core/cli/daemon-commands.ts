import { parse } from './arguments.ts';
import { usage, type BuiltinCommand } from './builtin-command.ts';
import { withDaemon } from './daemon-connection.ts';

// The daemon and the doctor's checks load what they need when they run, so other commands do not.

export const startCommand: BuiltinCommand = {
  name: 'start',
  usage: usage('start [--config FILE]', 'run the daemon in the foreground'),
  async run(ctx) {
    const { values } = parse(ctx.args, { config: { type: 'string' } });
    const { runDaemonForeground } = await import('../daemon.ts');
    await runDaemonForeground({ ...(values.config ? { configPath: values.config } : {}), cwd: ctx.cwd, env: ctx.env });
    return 0;
  },
};

interface StatusAnswer {
  pid: number;
  uptimeMs: number;
  version: string;
  stateDir: string;
  configFile?: string;
  claudePath: string;
  host: string;
  sandbox?: { mode: string; warning?: string };
  sessions: Record<string, number>;
  extensions: { name: string; state: string; health: { status: string; reason?: string; detail?: string } }[];
}

export const statusCommand: BuiltinCommand = {
  name: 'status',
  usage: usage('status [--json]', "the daemon: pid, uptime, sessions by status, extensions' health"),
  async run(ctx) {
    const { values } = parse(ctx.args, { config: { type: 'string' }, json: { type: 'boolean' } });
    return withDaemon(ctx, values.config, async (client) => {
      const status = await client.call<StatusAnswer>('daemon.status', {});
      ctx.output.out(values.json ? `${JSON.stringify(status, null, 2)}\n` : describeStatus(status));
      return 0;
    });
  },
};

function describeStatus(status: StatusAnswer): string {
  const s = status.sessions;
  return [
    `claude-ext ${status.version} running, pid ${status.pid}, up ${formatUptime(status.uptimeMs)}`,
    `state dir: ${status.stateDir}`,
    `config:    ${status.configFile ?? '(embedded defaults)'}`,
    `claude:    ${status.claudePath} (host: ${status.host})`,
    `sandbox:   ${describeSandbox(status.sandbox)}`,
    `sessions:  ${s.busy ?? 0} busy, ${s.idle ?? 0} idle, ${s.stopped ?? 0} stopped, ${s.dead ?? 0} dead; ${s.warm ?? 0} warm; ${s.queued ?? 0} prompts queued`,
    `extensions: ${status.extensions.length === 0 ? 'none enabled' : ''}`,
    ...status.extensions.map((e) => `  ${e.name.padEnd(14)} ${e.health.status.padEnd(8)} ${e.health.reason ?? e.health.detail ?? ''}`.trimEnd()),
    '',
  ].join('\n');
}

function describeSandbox(sandbox: StatusAnswer['sandbox']): string {
  if (!sandbox) return 'unknown (an older daemon)';
  if (sandbox.mode === 'bwrap') return 'bwrap: each session is isolated';
  return `none: SESSIONS ARE NOT ISOLATED${sandbox.warning ? ` (${sandbox.warning})` : ''}`;
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export const reloadCommand: BuiltinCommand = {
  name: 'reload',
  usage: usage('reload', 're-read config.yaml and .env (as SIGHUP does)'),
  async run(ctx) {
    const { values } = parse(ctx.args, { config: { type: 'string' } });
    return withDaemon(ctx, values.config, async (client) => {
      const answer = await client.call<{ ok: boolean; warnings?: string[]; error?: string }>('daemon.reload', {});
      if (!answer.ok) {
        ctx.output.err(`claude-ext: reload refused, the running configuration stays: ${answer.error}\n`);
        return 1;
      }
      for (const warning of answer.warnings ?? []) ctx.output.err(`warning: ${warning}\n`);
      ctx.output.out('configuration reloaded\n');
      return 0;
    });
  },
};

export const doctorCommand: BuiltinCommand = {
  name: 'doctor',
  usage: usage('doctor', 'check tmux, the claude CLI, authentication, the state dir, usage valves'),
  async run(ctx) {
    const { values } = parse(ctx.args, { config: { type: 'string' } });
    const { runDoctor } = await import('./doctor.ts');
    return runDoctor(ctx, values.config);
  },
};

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { findClaudeBinary } from '../sessions/claude/claude-binary.ts';
import { loadConfig } from '../config/config.ts';
import { daemonPaths } from '../config/paths.ts';
import { BWRAP_INSTALL_HINT, probeBwrap } from '../sessions/sandbox/bwrap-probe.ts';
import { connectAsAdmin } from '../bridge/admin-client.ts';
import type { CliContext } from './cli-context.ts';
import type { Config, LoadedConfig } from '../config/config.ts';
import { sessionEnvironment } from '../sessions/session-env.ts';
import { createUsageSource } from '../usage/usage-source.ts';
import { describeUsage } from '../usage/usage-format.ts';
import { unguardedUnattended } from '../usage/unattended-check.ts';
import type { UsageSnapshot } from '../usage/usage-types.ts';

interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** A failed check that is only a warning: shown, but the doctor still succeeds. */
  readonly warning?: boolean;
  readonly detail: string;
  /** What to do when the check fails. */
  readonly fix?: string;
}

/** Checks what the daemon needs and prints each failing check with its fix. */
export async function runDoctor(ctx: CliContext, configPath: string | undefined): Promise<number> {
  const checks: Check[] = [];
  let stateDir: string | undefined;
  let claudePath: string | null = null;
  let sandboxMode: 'bwrap' | 'none' | null = null;
  let loaded: LoadedConfig | undefined;
  try {
    loaded = loadConfig({ ...(configPath ? { configPath } : {}), cwd: ctx.cwd, env: ctx.env });
    stateDir = loaded.config.state_dir;
    claudePath = loaded.config.engine.claude_path;
    sandboxMode = loaded.config.sandbox.mode;
    checks.push({ name: 'config', ok: true, detail: `${loaded.file ?? 'embedded defaults'}${loaded.warnings.length ? `; ${loaded.warnings.length} warning(s): ${loaded.warnings.join('; ')}` : ''}` });
  } catch (error) {
    checks.push({ name: 'config', ok: false, detail: (error as Error).message, fix: 'correct the file at the line named above' });
  }

  const tmux = await execa('tmux', ['-V'], { reject: false });
  checks.push(
    tmux.exitCode === 0
      ? { name: 'tmux', ok: true, detail: tmux.stdout.trim() }
      : { name: 'tmux', ok: false, detail: 'tmux is not installed', fix: 'install tmux 3.x (Debian/Ubuntu: apt-get install tmux; macOS: brew install tmux)' },
  );

  const claude = findClaudeBinary(claudePath, ctx.env.PATH);
  if (!claude) {
    checks.push({ name: 'claude', ok: false, detail: 'the claude CLI was not found', fix: 'run `npm install` in the project, put claude on PATH, or set engine.claude_path' });
  } else {
    const version = await execa(claude.path, ['--version'], { reject: false, timeout: 20_000 });
    checks.push(
      version.exitCode === 0
        ? { name: 'claude', ok: true, detail: `${version.stdout.trim()} at ${claude.path} (from ${claude.source})` }
        : { name: 'claude', ok: false, detail: `${claude.path} --version failed: ${version.stderr.trim() || version.exitCode}`, fix: 'reinstall it: npm install @anthropic-ai/claude-code' },
    );
  }

  checks.push(await sandboxCheck(sandboxMode, ctx.env.PATH));
  checks.push(authenticationCheck(ctx.env));
  if (loaded && claude) checks.push(...(await usageChecks(loaded, claude.path, ctx.env)));
  if (stateDir) checks.push(...stateDirChecks(stateDir));
  if (stateDir) checks.push(await daemonCheck(stateDir));

  for (const check of checks) {
    ctx.output.out(`${check.ok ? '✓' : check.warning ? '!' : '✗'} ${check.name}: ${check.detail}\n`);
    if (!check.ok && check.fix) ctx.output.out(`  fix: ${check.fix}\n`);
  }
  return checks.every((c) => c.ok || c.warning) ? 0 : 1;
}

/**
 * Only when something runs unattended (heartbeat, cron): reads the account's usage as the daemon
 * would, and on a subscription warns about each unattended feature without a utilisation valve.
 */
async function usageChecks(loaded: LoadedConfig, claudePath: string, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const config: Config = loaded.config;
  if (!config.enabled.includes('heartbeat') && !config.enabled.includes('cron')) return [];
  const source = createUsageSource({
    command: config.usage.command,
    timeoutMs: config.usage.timeout,
    claudePath,
    env: () => sessionEnvironment({ ...loaded.env, ...env }, config.engine.env, new Set()),
    cwd: fs.existsSync(config.sessions.default_cwd) ? config.sessions.default_cwd : process.cwd(),
  });
  let snapshot: UsageSnapshot;
  try {
    snapshot = { ...(await source.read()), checkedAt: new Date().toISOString() };
  } catch (error) {
    return [{ name: 'usage', ok: false, warning: true, detail: `${(error as Error).message}: the utilisation valves cannot tell when to hold`, fix: 'check authentication, or set usage.command' }];
  }
  const checks: Check[] = [{ name: 'usage', ok: true, detail: describeUsage(snapshot) }];
  if (snapshot.auth !== 'subscription') return checks;
  for (const problem of unguardedUnattended(config)) {
    checks.push({
      name: 'unattended use',
      ok: false,
      warning: true,
      detail: `${problem}: on a subscription it can use up your 5-hour limit while you are away`,
      fix: problem.startsWith('heartbeat') ? 'set extensions.heartbeat.max_utilization (e.g. 80) or remove it to get the default' : 'set extensions.cron.skip_above_utilization (e.g. 80), or per job in extensions.cron.jobs or with cron add --skip-above',
    });
  }
  return checks;
}

async function sandboxCheck(mode: 'bwrap' | 'none' | null, searchPath: string | undefined): Promise<Check> {
  if (mode === 'none') {
    return { name: 'sandbox', ok: false, detail: 'sandbox.mode is none: sessions are not isolated (they can read the state dir, the vault and other users\' files)', fix: `${BWRAP_INSTALL_HINT}, then remove sandbox.mode or set it to bwrap` };
  }
  const probe = await probeBwrap(searchPath);
  if (probe.ok) return { name: 'sandbox', ok: true, detail: `bubblewrap at ${probe.path}: each session is isolated` };
  const consequence = mode === 'bwrap' ? 'the daemon will not start (sandbox.mode is bwrap)' : 'sessions are not isolated';
  return { name: 'sandbox', ok: false, detail: `${probe.reason}: ${consequence}`, fix: BWRAP_INSTALL_HINT };
}

function authenticationCheck(env: NodeJS.ProcessEnv): Check {
  if (env.ANTHROPIC_API_KEY) return { name: 'authentication', ok: true, detail: 'ANTHROPIC_API_KEY is set' };
  if (env.CLAUDE_CODE_OAUTH_TOKEN) return { name: 'authentication', ok: true, detail: 'CLAUDE_CODE_OAUTH_TOKEN is set' };
  if (env.CLAUDE_CODE_USE_BEDROCK || env.CLAUDE_CODE_USE_VERTEX) return { name: 'authentication', ok: true, detail: 'a cloud provider is configured' };
  const configDir = env.CLAUDE_CONFIG_DIR ?? path.join(env.HOME ?? '', '.claude');
  const credentials = path.join(configDir, '.credentials.json');
  if (fs.existsSync(credentials)) return { name: 'authentication', ok: true, detail: `logged in (${credentials})` };
  return {
    name: 'authentication',
    ok: false,
    detail: 'no API key and no Claude login found',
    fix: 'run `claude login` (subscription) or set ANTHROPIC_API_KEY (in the environment or .env)',
  };
}

function stateDirChecks(stateDir: string): Check[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(stateDir);
  } catch {
    return [{ name: 'state dir', ok: true, detail: `${stateDir} does not exist yet (the daemon creates it 0700)` }];
  }
  const mode = stat.mode & 0o777;
  const checks: Check[] = [
    mode & 0o077
      ? { name: 'state dir', ok: false, detail: `${stateDir} is mode ${mode.toString(8)}: others can read it`, fix: `chmod 700 ${stateDir}` }
      : { name: 'state dir', ok: true, detail: `${stateDir} (mode ${mode.toString(8)})` },
  ];
  const exposed = exposedFiles(stateDir, 2000);
  if (exposed.length > 0) {
    checks.push({ name: 'state files', ok: false, detail: `${exposed.length} file(s) readable by others, e.g. ${exposed[0]}`, fix: `chmod -R go-rwx ${stateDir}` });
  }
  return checks;
}

function exposedFiles(dir: string, limit: number): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      if (found.length >= limit) return;
      const full = path.join(current, entry.name);
      const mode = fs.lstatSync(full).mode & 0o077;
      if (mode && !entry.isSymbolicLink() && !entry.isSocket()) found.push(full);
      if (entry.isDirectory()) walk(full);
    }
  };
  try {
    walk(dir);
  } catch {
    // unreadable parts are reported by the state dir check
  }
  return found;
}

async function daemonCheck(stateDir: string): Promise<Check> {
  const socket = daemonPaths(stateDir).socket;
  try {
    const client = await connectAsAdmin(stateDir, { timeoutMs: 2000 });
    try {
      const status = await client.call<{ pid: number }>('daemon.status', {}, { timeoutMs: 2000 });
      return { name: 'daemon', ok: true, detail: `running, pid ${status.pid}` };
    } finally {
      client.close();
    }
  } catch {
    return { name: 'daemon', ok: true, detail: 'not running (start it with `claude-ext start`)' };
  }
}

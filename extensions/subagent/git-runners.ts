import { execa } from 'execa';
import type { ExtensionContext } from 'claude-ext/extension';
import { GIT_HARDENING, type GitOutput, type GitRunner } from './git.ts';

const GIT_TIMEOUT_MS = 120_000;

/** git inside a session's sandbox: with that session's view of the file system and its rights. */
export function sessionGit<C>(ctx: ExtensionContext<C>, sessionId: string): GitRunner {
  return async (args, options) => {
    const launch = ctx.sessions.sandboxCommand(sessionId, ['git', ...GIT_HARDENING, ...args]);
    return run(launch.argv, environment(ctx, launch.env), options?.input);
  };
}

/**
 * git run by the daemon itself, for what touches no working tree (rev-list, worktree prune, branch -D)
 * and so runs no filter; hooks and the file-system monitor are off.
 */
export function daemonGit<C>(ctx: ExtensionContext<C>): GitRunner {
  return (args, options) => run(['git', ...GIT_HARDENING, ...args], environment(ctx, {}), options?.input);
}

function environment<C>(ctx: ExtensionContext<C>, changes: Readonly<Record<string, string | null>>): Record<string, string> {
  const env: Record<string, string> = { LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };
  if (ctx.env.PATH) env.PATH = ctx.env.PATH;
  if (ctx.env.HOME) env.HOME = ctx.env.HOME;
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  return env;
}

async function run(argv: readonly string[], env: Record<string, string>, input: string | undefined): Promise<GitOutput> {
  const [file, ...args] = argv;
  if (!file) throw new Error('no command to run');
  const out = await execa(file, args, { env, extendEnv: false, reject: false, timeout: GIT_TIMEOUT_MS, stripFinalNewline: false, ...(input !== undefined ? { input } : { stdin: 'ignore' }) });
  return { stdout: String(out.stdout ?? ''), stderr: String(out.stderr ?? ''), exitCode: out.exitCode ?? 1 };
}

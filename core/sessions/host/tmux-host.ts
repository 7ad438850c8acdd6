import fs from 'node:fs';
import { execa } from 'execa';
import { HostError, type LaunchSpec, type SessionHost } from './host.ts';
import { isEnvName, shellJoin, shellQuote } from './shell-quote.ts';
import { writeFileAtomic } from '../../util/files.ts';

/**
 * Runs each session's process in its own tmux session on a tmux server of the daemon's own (its socket
 * lives in the state dir), so the processes outlive the daemon and never touch the user's tmux.
 */
export class TmuxHost implements SessionHost {
  readonly kind = 'tmux';

  constructor(
    private readonly socketPath: string,
    private readonly tmuxPath = 'tmux',
  ) {}

  async launch(spec: LaunchSpec): Promise<void> {
    writeFileAtomic(spec.scriptPath, launchScript(spec));
    const result = await this.tmux(
      ['new-session', '-d', '-s', spec.name, '-x', '200', '-y', '50', '/bin/bash', '--noprofile', '--norc', spec.scriptPath],
      { reject: false },
    );
    if (result.exitCode !== 0) {
      throw new HostError(this.kind, 'launch', `tmux new-session for ${spec.name} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    }
  }

  async isRunning(name: string): Promise<boolean> {
    const result = await this.tmux(['has-session', '-t', `=${name}`], { reject: false });
    return result.exitCode === 0;
  }

  async running(): Promise<Set<string>> {
    const result = await this.tmux(['list-sessions', '-F', '#{session_name}'], { reject: false });
    if (result.exitCode !== 0) {
      // No server (or no socket) means no sessions; anything else must not be read as "all dead".
      if (/no server running|error connecting to|no such file/i.test(String(result.stderr))) return new Set();
      throw new HostError(this.kind, 'running', `tmux list-sessions failed: ${String(result.stderr).trim()}`);
    }
    return new Set(result.stdout.split('\n').filter((line) => line.length > 0));
  }

  async terminate(name: string): Promise<void> {
    const pid = await this.panePid(name);
    if (pid !== undefined) {
      signalGroup(pid, 'SIGTERM');
      if (!(await waitUntil(() => !groupAlive(pid), 3000))) signalGroup(pid, 'SIGKILL');
      await waitUntil(() => !groupAlive(pid), 2000);
    }
    await this.tmux(['kill-session', '-t', `=${name}`], { reject: false });
  }

  private async panePid(name: string): Promise<number | undefined> {
    const result = await this.tmux(['display-message', '-p', '-t', `=${name}:`, '#{pane_pid}'], { reject: false });
    const pid = Number(result.stdout.trim());
    return result.exitCode === 0 && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private tmux(args: string[], options: { reject: boolean }) {
    return execa(this.tmuxPath, ['-S', this.socketPath, '-f', '/dev/null', ...args], {
      reject: options.reject,
      // The tmux server starts from the first command: it must not inherit the daemon's secrets.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', LANG: process.env.LANG ?? 'C.UTF-8' },
      extendEnv: false,
      stdin: 'ignore',
    });
  }
}

/**
 * The script tmux runs: the environment set exactly, stdin fed by following the input file, output
 * appended to files, and the exit code recorded when the program ends by itself.
 */
export function launchScript(spec: LaunchSpec): string {
  const exports = Object.entries(spec.env).map(([name, value]) => {
    if (!isEnvName(name)) throw new HostError('tmux', 'launch', `invalid environment variable name ${JSON.stringify(name)}`);
    return `export ${name}=${shellQuote(value)}`;
  });
  const exitTemp = `${spec.exitPath}.tmp`;
  return [
    '#!/bin/bash',
    'for name in $(compgen -e); do unset "$name" 2>/dev/null; done',
    ...exports,
    `cd -- ${shellQuote(spec.cwd)} || { echo "cannot enter the working directory" >> ${shellQuote(spec.stderrPath)}; (umask 077; printf '126\\n' > ${shellQuote(exitTemp)}); mv -f -- ${shellQuote(exitTemp)} ${shellQuote(spec.exitPath)}; exit 126; }`,
    `exec 3< <(exec tail -c +${spec.inputOffset + 1} -F -- ${shellQuote(spec.inputPath)} 2>/dev/null)`,
    'feeder=$!',
    `${shellJoin(spec.argv)} <&3 >> ${shellQuote(spec.outputPath)} 2>> ${shellQuote(spec.stderrPath)}`,
    'code=$?',
    'kill "$feeder" 2>/dev/null',
    `(umask 077; printf '%s\\n' "$code" > ${shellQuote(exitTemp)}) && mv -f -- ${shellQuote(exitTemp)} ${shellQuote(spec.exitPath)}`,
    '',
  ].join('\n');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

export function tmuxAvailable(tmuxPath = 'tmux'): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      fs.accessSync(`${dir}/${tmuxPath}`, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findClaudeBinary } from '../../core/sessions/claude/claude-binary.ts';
import { startFakeAnthropic, type FakeAnthropic } from './fake-anthropic.ts';

/** A private world for one test: a stand-in model API, a HOME for the CLI, a state dir, a work dir. */
export interface TestWorld {
  readonly root: string;
  readonly home: string;
  readonly stateDir: string;
  readonly workDir: string;
  readonly api: FakeAnthropic;
  readonly claudePath: string;
  /** The environment the daemon (and so its sessions) runs with. */
  readonly env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export async function createWorld(name: string): Promise<TestWorld> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `ce-${name}-`));
  const home = path.join(root, 'home');
  const stateDir = path.join(root, 'state');
  const workDir = path.join(root, 'work');
  for (const dir of [home, workDir]) fs.mkdirSync(dir, { recursive: true });
  const api = await startFakeAnthropic();
  const claude = findClaudeBinary(null, '');
  if (!claude) throw new Error('the claude CLI is not installed (npm install brings @anthropic-ai/claude-code)');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    ANTHROPIC_BASE_URL: api.url,
    ANTHROPIC_API_KEY: 'test-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    IS_SANDBOX: '1',
  };
  return {
    root,
    home,
    stateDir,
    workDir,
    api,
    claudePath: claude.path,
    env,
    async cleanup() {
      killTmuxServer(path.join(stateDir, 'tmux.sock'));
      await api.close();
      // A claude process that is still ending may write into HOME while it is removed.
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** Ends the world's tmux server and every process group in its panes (a daemon leaves them running). */
export function killTmuxServer(socket: string): void {
  if (!fs.existsSync(socket)) return;
  const tmux = (args: string[]): string => {
    try {
      return execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  for (const pid of tmux(['list-panes', '-a', '-F', '#{pane_pid}']).split('\n').filter(Boolean)) {
    try {
      process.kill(-Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tmux(['kill-server']);
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Sessions in bubblewrap, with the real claude CLI: a session's Bash cannot reach the daemon's secrets,
 * other sessions' files, the daemon's process or another user's working directory, on every launch path;
 * working directories stay inside `sessions.roots`; `sandbox.mode: none` runs and says it is unconfined.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createWorld, killTmuxServer, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

const SANDBOX_AVAILABLE = (() => {
  try {
    execFileSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--dev', '/dev', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface PromptJson {
  type: string;
  sessionId: string;
  promptId: string;
  result?: { outcome: string; text: string };
}

/** A Bash script that reports, for each path, whether it could be read: `READ path` or `DENIED path`. */
function probeScript(paths: readonly string[]): string {
  return paths.map((p) => `if cat ${JSON.stringify(p)} >/dev/null 2>&1; then echo "READ ${p}"; else echo "DENIED ${p}"; fi`).join('; ');
}

function toolPrompt(command: string): string {
  return `@tool Bash ${JSON.stringify({ command })}\n@echo-tool`;
}

describe('sessions in the sandbox', { skip: SANDBOX_AVAILABLE ? false : 'bubblewrap cannot run here' }, () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;
  let alice: string;
  let bob: string;
  let keys: string;

  const prompt = async (args: string[]): Promise<PromptJson> => {
    const run = await runCli(world, ['prompt', '--config', config, '--json', ...args]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as PromptJson);
    const final = lines.find((line) => line.type === 'result');
    assert.ok(final?.result, run.stdout);
    return final;
  };

  before(async () => {
    world = await createWorld('sandbox');
    alice = path.join(world.workDir, 'alice');
    bob = path.join(world.workDir, 'bob');
    for (const dir of [alice, bob]) fs.mkdirSync(dir);
    fs.writeFileSync(path.join(bob, 'plans.txt'), 'bob only\n');
    // A directory the configuration shows to sessions, holding a file an extension hides.
    keys = path.join(world.root, 'keys');
    fs.mkdirSync(keys);
    fs.writeFileSync(path.join(keys, 'public.txt'), 'anyone\n');
    fs.writeFileSync(path.join(keys, 'vault-pass'), 'the-daemon-passphrase\n', { mode: 0o600 });
    config = writeConfig(
      world,
      [
        `  roots:`,
        `    alice: [${alice}]`,
        `    bob: [${bob}]`,
        `  idle_timeout: 1500ms`,
        `enabled: [vault]`,
        `extensions:`,
        `  vault:`,
        `    run_timeout: 3s`,
        `    passphrase_file: ${path.join(keys, 'vault-pass')}`,
        `sandbox:`,
        `  readable: [${keys}]`,
        '',
      ].join('\n'),
    );
    daemon = await startDaemonProcess(world, ['--config', config], daemonEnv());
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('a session cannot read the state dir, other sessions, the daemon process or another user; its own directory works', async () => {
    const bobs = await prompt(['--user', 'bob', '--new', '--cwd', bob, '@reply ready']);
    const bobDir = path.join(world.stateDir, 'sessions', bobs.sessionId);
    const secrets = [
      path.join(world.stateDir, 'admin.token'),
      path.join(world.stateDir, 'bridge.key'),
      path.join(world.stateDir, 'data', 'vault', 'vault.json'),
      path.join(bobDir, 'mcp.json'),
      path.join(bobDir, 'stream.jsonl'),
      `/proc/${daemon.child.pid}/environ`,
      path.join(bob, 'plans.txt'),
      config,
      path.join(keys, 'vault-pass'),
    ];
    for (const file of secrets.slice(0, 5)) assert.ok(fs.existsSync(file), `${file} exists outside the sandbox`);
    const own = 'echo written > mine.txt && cat mine.txt && touch /usr/sandbox-probe 2>/dev/null || echo "read-only elsewhere"';
    const answer = await prompt(['--user', 'alice', '--new', '--cwd', alice, toolPrompt(`${probeScript(secrets)}; ${own}; echo "home=$HOME"; cat ${path.join(keys, 'public.txt')}`)]);
    const text = answer.result?.text ?? '';
    for (const file of secrets) assert.match(text, new RegExp(`DENIED ${escape(file)}`), text);
    assert.doesNotMatch(text, /READ /, text);
    assert.match(text, /written/);
    assert.match(text, /anyone/, 'sandbox.readable shows what it names');
    assert.match(text, /read-only elsewhere/);
    assert.equal(fs.readFileSync(path.join(alice, 'mine.txt'), 'utf8'), 'written\n');
    assert.match(text, new RegExp(`home=${escape(path.join(world.stateDir, 'users', 'alice', 'home'))}`));
    // Its transcript went to the user's own HOME.
    assert.ok(fs.readdirSync(path.join(world.stateDir, 'users', 'alice', 'home', '.claude', 'projects')).length > 0);
  });

  test('the daemon process is not there: the session sees only its own processes', async () => {
    const answer = await prompt(['--user', 'alice', toolPrompt('ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "')]);
    const [count] = (answer.result?.text ?? '').trim().split('\n');
    assert.ok(Number(count) < 15, `the session sees ${count} processes`);
    assert.doesNotMatch(answer.result?.text ?? '', /claude-ext|tmux/);
  });

  test("tools work inside: the vault's MCP tools answer", async () => {
    const answer = await prompt(['--user', 'alice', '@tool mcp__vault__vault_list {}\n@echo-tool']);
    assert.equal(answer.result?.outcome, 'success');
    assert.doesNotMatch(answer.result?.text ?? '', /error|No such tool/i, answer.result?.text);
  });

  test('after an idle offload the relaunched process is sandboxed again', async () => {
    const first = await prompt(['--user', 'alice', '--new', '--cwd', alice, '@reply warm']);
    await waitForEvent('process_offloaded', first.sessionId);
    const again = await prompt(['--user', 'alice', '--session', first.sessionId, toolPrompt(probeScript([path.join(world.stateDir, 'admin.token')]))]);
    assert.match(again.result?.text ?? '', /DENIED/);
    assert.ok(launches(first.sessionId).some((event) => event.resume === true), 'the conversation was resumed');
  });

  test('after SIGKILL of the daemon and its tmux server the resumed session is sandboxed again', async () => {
    const first = await prompt(['--user', 'alice', '--new', '--cwd', alice, '@reply before']);
    // The CLI writes its transcript just after the result; a machine that stops before that loses the turn.
    const projects = path.join(world.stateDir, 'users', 'alice', 'home', '.claude', 'projects');
    await waitFor('the transcript', () => fs.readdirSync(projects, { recursive: true }).map(String).some((file) => file.endsWith('.jsonl') && fs.readFileSync(path.join(projects, file), 'utf8').includes('@reply before')));
    await daemon.kill();
    killTmuxServer(path.join(world.stateDir, 'tmux.sock'));
    daemon = await startDaemonProcess(world, ['--config', config], daemonEnv());
    const again = await prompt(['--user', 'alice', '--session', first.sessionId, toolPrompt(probeScript([path.join(world.stateDir, 'admin.token')]))]);
    assert.match(again.result?.text ?? '', /DENIED/);
    assert.ok(launches(first.sessionId).filter((event) => event.resume === true).length >= 1, JSON.stringify(readEventLog(world).filter((e) => e.session === first.sessionId)));
  });

  test('vault_run runs in the sandbox, and its timeout leaves no process behind', async () => {
    const secrets = probeScript([path.join(world.stateDir, 'admin.token'), `/proc/${daemon.child.pid}/environ`]);
    const inside = await prompt(['--user', 'alice', '--new', '--cwd', alice, `@tool mcp__vault__vault_run ${JSON.stringify({ command: `${secrets}; pwd` })}\n@echo-tool`]);
    assert.match(inside.result?.text ?? '', /DENIED .*admin\.token/);
    assert.doesNotMatch(inside.result?.text ?? '', /READ /);
    assert.match(inside.result?.text ?? '', new RegExp(escape(alice)));
    const started = Date.now();
    const timedOut = await prompt(['--user', 'alice', `@tool mcp__vault__vault_run ${JSON.stringify({ command: '(setsid sleep 4243 &); sleep 4243 & sleep 4243' })}\n@echo-tool`]);
    assert.match(timedOut.result?.text ?? '', /timed out/);
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
    assert.deepEqual(processesRunning('sleep 4243'), [], 'every process the command started is gone');
  });

  test('stopping the turn ends a running vault_run command and everything it started', async () => {
    const run = await runCli(world, ['prompt', '--config', config, '--user', 'alice', '--detach', `@tool mcp__vault__vault_run ${JSON.stringify({ command: '(setsid sleep 4244 &); sleep 4244' })}\n@echo-tool`]);
    assert.equal(run.code, 0, run.stderr);
    const { sessionId } = JSON.parse(run.stdout) as { sessionId: string };
    await waitFor('the command to run', () => processesRunning('sleep 4244').length >= 2);
    const stopped = await runCli(world, ['stop', '--config', config, '--user', 'alice', sessionId]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitFor('the command to end', () => processesRunning('sleep 4244').length === 0, 2500);
  });

  test('a working directory outside the roots is refused, naming them', async () => {
    const run = await runCli(world, ['prompt', '--config', config, '--user', 'alice', '--new', '--cwd', bob, '@reply no']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`outside the directories user "alice" may work in: ${escape(alice)}`));
    const inState = await runCli(world, ['prompt', '--config', config, '--user', 'carol', '--new', '--cwd', world.stateDir, '@reply no']);
    assert.notEqual(inState.code, 0);
    assert.match(inState.stderr, /inside the daemon's state dir|outside the directories/);
  });

  test('status and doctor say sessions are isolated', async () => {
    const status = await runCli(world, ['status', '--config', config]);
    assert.match(status.stdout, /sandbox: +bwrap: each session is isolated/);
  });

  function daemonEnv(): NodeJS.ProcessEnv {
    return { ...world.env, CLAUDE_EXT_VAULT_PASSPHRASE: 'the-daemon-passphrase' };
  }

  async function waitForEvent(type: string, session: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!readEventLog(world).some((event) => event.type === type && event.session === session)) {
      if (Date.now() > deadline) throw new Error(`no ${type} event for ${session}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  function launches(session: string): { resume?: boolean }[] {
    return readEventLog(world).filter((event) => event.type === 'process_launched' && event.session === session) as { resume?: boolean }[];
  }
});

describe('sandbox.mode: none', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld('nosandbox');
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('runs, warns at start, and status and doctor say sessions are not isolated', async () => {
    const config = writeConfig(world, 'sandbox:\n  mode: none\n');
    const daemon = await startDaemonProcess(world, ['--config', config]);
    assert.match(daemon.output(), /sandbox\.mode is none: sessions are not isolated/);
    const token = path.join(world.stateDir, 'admin.token');
    const run = await runCli(world, ['prompt', '--config', config, toolPrompt(probeScript([token]))]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /READ /, 'unconfined, as configured');
    const status = await runCli(world, ['status', '--config', config]);
    assert.match(status.stdout, /sandbox: +none: SESSIONS ARE NOT ISOLATED/);
    const doctor = await runCli(world, ['doctor', '--config', config]);
    assert.match(doctor.stdout, /✗ sandbox: sandbox\.mode is none: sessions are not isolated/);
    await daemon.stop();
  });

  test('a session from before the sandbox keeps its conversation when the sandbox is turned on', { skip: SANDBOX_AVAILABLE ? false : 'bubblewrap cannot run here' }, async () => {
    const plain = writeConfig(world, 'sandbox:\n  mode: none\n');
    let daemon = await startDaemonProcess(world, ['--config', plain]);
    const first = await runCli(world, ['prompt', '--config', plain, '--new', '--name', 'old', 'remember the word pelican']);
    assert.equal(first.code, 0, first.stderr);
    // An upgrade: the daemon stops, its session process runs on, and the next start confines it.
    await daemon.stop();
    const sandboxed = writeConfig(world, 'sandbox:\n  mode: bwrap\n');
    daemon = await startDaemonProcess(world, ['--config', sandboxed]);
    const again = await runCli(world, ['prompt', '--config', sandboxed, '--session', 'old', '@echo']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /pelican/, 'the earlier turn came along');
    assert.ok(readEventLog(world).some((event) => event.type === 'process_restart'), 'the unconfined process was replaced');
    await daemon.stop();
  });
});

/** Host pids of running (not zombie) processes whose command line is `command`. */
function processesRunning(command: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (cmdline === command && state !== 'Z') found.push(Number(pid));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

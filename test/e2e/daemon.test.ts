/**
 * The daemon and its CLI as a user runs them: `claude-ext start`, then `claude-ext prompt|wait|...`,
 * with the real claude CLI in tmux against the stand-in model. Includes SIGKILL of the daemon.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

interface PromptJson {
  id: string;
  status: string;
  result?: { outcome: string; text: string; costUsd: number };
}

describe('the CLI against a running daemon', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;
  before(async () => {
    world = await createWorld('cli');
    config = writeConfig(world, 'engine:\n  partial_messages: true\n');
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await daemon.stop();
    await world.cleanup();
  });

  test('prompt streams the answer, a line per tool call, and the cost', async () => {
    const run = await runCli(world, ['prompt', '--config', config, '@tool Bash {"command":"echo from-the-tool"}\n@chunk 4 5\n@reply streamed answer text']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /streamed answer text/);
    assert.match(run.stderr, /⚙ Bash echo from-the-tool/);
    assert.match(run.stderr, /\$0\.\d+ · 2 turns/);
  });

  test('prompt reads stdin with -, --json prints events, and a failing turn exits non-zero', async () => {
    const ok = await runCli(world, ['prompt', '--config', config, '--json', '-'], { stdin: '@reply from stdin' });
    assert.equal(ok.code, 0, ok.stderr);
    const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; result?: { text: string } });
    assert.equal(lines.at(-1)?.type, 'result');
    assert.equal(lines.at(-1)?.result?.text, 'from stdin');
    assert.ok(lines.some((l) => l.type === 'init'));
    const failing = await runCli(world, ['prompt', '--config', config, '--new', '@fail 400 scripted refusal']);
    assert.notEqual(failing.code, 0);
  });

  test('--detach returns ids at once; wait prints the result; sessions and status list them', async () => {
    const detached = await runCli(world, ['prompt', '--config', config, '--user', 'ann', '--detach', '@wait 800\n@reply detached work']);
    assert.equal(detached.code, 0, detached.stderr);
    const ids = JSON.parse(detached.stdout) as { sessionId: string; promptId: string };
    const waited = await runCli(world, ['wait', '--config', config, '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal((JSON.parse(waited.stdout) as PromptJson).result?.text, 'detached work');
    const again = await runCli(world, ['wait', '--config', config, '--session', ids.sessionId]);
    assert.match(again.stdout, /detached work/);

    const sessions = JSON.parse((await runCli(world, ['sessions', '--config', config, '--user', 'ann', '--json'])).stdout) as { id: string; user: string; status: string }[];
    assert.deepEqual(sessions.map((s) => [s.id, s.user, s.status]), [[ids.sessionId, 'ann', 'idle']]);
    const table = await runCli(world, ['sessions', '--config', config]);
    assert.match(table.stdout, /ann\s+default\s+idle/);
    const status = JSON.parse((await runCli(world, ['status', '--config', config, '--json'])).stdout) as { pid: number; sessions: Record<string, number> };
    assert.equal(status.pid, daemon.child.pid);
    assert.ok((status.sessions.idle ?? 0) >= 1);
  });

  test('stop interrupts a running prompt from another terminal', async () => {
    const detached = JSON.parse((await runCli(world, ['prompt', '--config', config, '--user', 'bo', '--detach', '@wait 60000\n@reply never'])).stdout) as { sessionId: string; promptId: string };
    await waitFor('the turn to start', () => readEventLog(world).some((e) => e.type === 'prompt_started' && e.prompt === detached.promptId));
    const stopped = await runCli(world, ['stop', '--config', config, '--user', 'bo', 'default', '--clear']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, new RegExp(`interrupted ${detached.promptId}`));
    const waited = await runCli(world, ['wait', '--config', config, '--session', detached.sessionId, '--prompt', detached.promptId, '--json']);
    assert.equal((JSON.parse(waited.stdout) as PromptJson).result?.outcome, 'stopped');
    assert.equal(waited.code, 1);
  });

  test('a second daemon on the same state dir is refused', async () => {
    const second = await runCli(world, ['start', '--config', config], { timeoutMs: 30_000 });
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /another daemon|already/i);
  });

  test('errors are clear: unknown session, unknown command', async () => {
    const missing = await runCli(world, ['wait', '--config', config, '--session', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no session "nope"/);
    const unknown = await runCli(world, ['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });
});

describe('the daemon killed with SIGKILL', () => {
  let world: TestWorld;
  let config: string;
  before(async () => {
    world = await createWorld('sigkill');
    config = writeConfig(world);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('mid-turn: after a restart the result is delivered exactly once', async () => {
    let daemon = await startDaemonProcess(world, ['--config', config]);
    const ids = JSON.parse((await runCli(world, ['prompt', '--config', config, '--detach', '@wait 2500\n@reply outlived the daemon'])).stdout) as { sessionId: string; promptId: string };
    await waitFor('the turn to reach the model', () => world.api.conversationRequests().some((r) => JSON.stringify(r.messages).includes('outlived the daemon')));
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const waited = await runCli(world, ['wait', '--config', config, '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal((JSON.parse(waited.stdout) as PromptJson).result?.text, 'outlived the daemon');
    await daemon.stop();
    daemon = await startDaemonProcess(world, ['--config', config]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const results = readEventLog(world).filter((e) => e.type === 'result' && e.prompt === ids.promptId);
    assert.equal(results.length, 1, 'one result across three daemon lifetimes');
    const requests = world.api.conversationRequests().filter((r) => JSON.stringify(r.messages).includes('outlived the daemon'));
    assert.equal(requests.length, 1, 'the model was asked once: the turn was not re-run');
    await daemon.stop();
  });

  test('with prompts queued: none is lost and they keep their order', async () => {
    let daemon = await startDaemonProcess(world, ['--config', config]);
    const submit = async (text: string) =>
      JSON.parse((await runCli(world, ['prompt', '--config', config, '--user', 'q', '--detach', text])).stdout) as { sessionId: string; promptId: string };
    const first = await submit('@wait 1500\n@reply first');
    const second = await submit('@reply second');
    const third = await submit('@reply third');
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const texts: string[] = [];
    const finished: number[] = [];
    for (const ids of [first, second, third]) {
      const waited = await runCli(world, ['wait', '--config', config, '--session', ids.sessionId, '--prompt', ids.promptId, '--json'], { timeoutMs: 60_000 }).catch((error: Error) => {
        const events = readEventLog(world).slice(-20).map((e) => JSON.stringify(e)).join('\n');
        const state = fs.readFileSync(path.join(world.stateDir, 'sessions', ids.sessionId, 'state.json'), 'utf8');
        const stream = fs.readFileSync(path.join(world.stateDir, 'sessions', ids.sessionId, 'stream.jsonl'), 'utf8').split('\n').slice(-6).join('\n');
        throw new Error(`${error.message}\nevents:\n${events}\nstate: ${state}\nstream tail:\n${stream}\nlog:\n${daemon.output().slice(-3000)}`);
      });
      assert.equal(waited.code, 0, waited.stderr);
      const prompt = JSON.parse(waited.stdout) as PromptJson & { finishedAt: string };
      texts.push(prompt.result?.text ?? '');
      finished.push(Date.parse(prompt.finishedAt));
    }
    assert.deepEqual(texts, ['first', 'second', 'third']);
    assert.ok(finished[0]! <= finished[1]! && finished[1]! <= finished[2]!);
    await daemon.stop();
  });
});

describe('configuration: start and reload', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld('config');
  });
  after(async () => {
    await world.cleanup();
  });

  test('a syntax error names the file and the line, and the daemon does not start', async () => {
    const bad = path.join(world.root, 'bad.yaml');
    fs.writeFileSync(bad, `state_dir: ${world.stateDir}\nsessions:\n  max_per_user: [1, 2\n  idle_timeout: 5m\n`);
    const run = await runCli(world, ['start', '--config', bad], { timeoutMs: 30_000 });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.yaml:\d+/);
    assert.equal(fs.existsSync(path.join(world.stateDir, 'daemon.sock')), false);
  });

  test('a wrong type names the key and its line', async () => {
    const bad = path.join(world.root, 'typed.yaml');
    fs.writeFileSync(bad, `state_dir: ${world.stateDir}\nsessions:\n  max_per_user: lots\n`);
    const run = await runCli(world, ['start', '--config', bad], { timeoutMs: 30_000 });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /typed\.yaml:3/);
    assert.match(run.stderr, /sessions\.max_per_user/);
  });

  test('a state dir open to other users is refused, and the message says how to fix it', async () => {
    const open = path.join(world.root, 'open-state');
    fs.mkdirSync(open, { mode: 0o755 });
    fs.chmodSync(open, 0o755);
    const run = await runCli(world, ['start'], { env: { ...world.env, CLAUDE_EXT_STATE_DIR: open }, timeoutMs: 30_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`the state dir ${open} is not private.*mode 755.*\`chmod 700 ${open}\``));
    assert.equal(fs.existsSync(path.join(open, 'daemon.sock')), false);
    assert.equal(fs.statSync(open).mode & 0o777, 0o755, 'left as it was');
  });

  test('with no config file at all the daemon runs on its defaults', async () => {
    const empty = path.join(world.root, 'empty-cwd');
    fs.mkdirSync(empty);
    const env = { ...world.env, CLAUDE_EXT_STATE_DIR: path.join(world.root, 'default-state') };
    const daemon = await startDaemonProcess({ ...world, root: empty }, [], env);
    const status = await runCli(world, ['status', '--json'], { env, cwd: empty });
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { configFile?: string; stateDir: string };
    assert.equal(parsed.configFile, undefined);
    assert.equal(parsed.stateDir, path.join(world.root, 'default-state'));
    assert.equal(fs.statSync(parsed.stateDir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(parsed.stateDir, 'daemon.sock')).mode & 0o777, 0o600);
    await daemon.stop();
  });

  test('reload (and SIGHUP) applies a new configuration and refuses an invalid one', async () => {
    const file = path.join(world.root, 'config.yaml');
    fs.writeFileSync(file, `state_dir: ${world.stateDir}\nsessions:\n  default_cwd: ${world.workDir}\n  max_per_user: 1\n`);
    const daemon = await startDaemonProcess(world, ['--config', file]);
    try {
      const newSession = (name: string) => runCli(world, ['prompt', '--config', file, '--new', '--name', name, '--detach', '@reply hi']);
      assert.equal((await newSession('one')).code, 0);
      const refused = await newSession('two');
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /local.*1|1.*local/);

      fs.writeFileSync(file, `state_dir: ${world.stateDir}\nsessions:\n  default_cwd: ${world.workDir}\n  max_per_user: 2\n`);
      const reloaded = await runCli(world, ['reload', '--config', file]);
      assert.equal(reloaded.code, 0, reloaded.stderr);
      assert.equal((await newSession('two')).code, 0);

      fs.writeFileSync(file, `state_dir: ${world.stateDir}\nsessions:\n  max_per_user: [3\n`);
      daemon.child.kill('SIGHUP');
      await waitFor('the refused reload in the event log', () => readEventLog(world).find((e) => e.type === 'reload' && e.ok === false));
      const refusedReload = readEventLog(world).find((e) => e.type === 'reload' && e.ok === false);
      assert.match(String(refusedReload?.error), /config\.yaml:\d+: invalid YAML/);
      const byCli = await runCli(world, ['reload', '--config', file]);
      assert.equal(byCli.code, 2, 'the CLI itself cannot read the broken file');
      assert.match(byCli.stderr, /config\.yaml:\d+: invalid YAML/);
      assert.equal(daemon.child.exitCode, null, 'the daemon keeps running');
      fs.writeFileSync(file, `state_dir: ${world.stateDir}\nsessions:\n  default_cwd: ${world.workDir}\n  max_per_user: 9\n`);
      const third = await newSession('three');
      assert.notEqual(third.code, 0, 'the limit of 2 from the last good configuration still holds (the file now says 9, not reloaded)');
      assert.match(third.stderr, /2/);
    } finally {
      await daemon.stop();
    }
  });
});

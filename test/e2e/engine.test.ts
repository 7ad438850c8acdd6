/**
 * The session engine driving the real claude CLI in real tmux, against the stand-in model API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { SessionLimitError } from '../../core/util/errors.ts';
import type { EngineEvent } from '../../core/sessions/events.ts';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { startEngine, type EngineFixture } from '../support/engine-fixture.ts';

function resultsOf(events: EngineEvent[], promptId: string): EngineEvent[] {
  return events.filter((e) => e.type === 'result' && e.promptId === promptId);
}

function eventLog(file: string): { type: string; [key: string]: unknown }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string });
}

describe('a warm session', () => {
  let world: TestWorld;
  let fx: EngineFixture;
  before(async () => {
    world = await createWorld('warm');
    fx = await startEngine(world, { partialMessages: true });
  });
  after(async () => {
    await fx.engine.terminateAll();
    await fx.engine.close();
    await world.cleanup();
  });

  test('a prompt streams its events and ends with a result', async () => {
    const { session, prompt } = fx.engine.submit({ user: 'alice', text: '@think pondering\n@reply héllo wörld 🌍' });
    const done = await fx.engine.waitForPrompt(session.id, prompt.id);
    assert.equal(done.result?.outcome, 'success');
    assert.equal(done.result?.text, 'héllo wörld 🌍');
    assert.ok((done.result?.costUsd ?? 0) > 0, 'the turn has a cost');
    await waitFor('the result delivered', () => resultsOf(fx.events, prompt.id).length === 1);
    const types = fx.events.filter((e) => e.promptId === prompt.id).map((e) => e.type);
    for (const type of ['queued', 'started', 'init', 'thinking', 'text', 'result'] as const) assert.ok(types.includes(type), `saw ${type}`);
    assert.ok(fx.events.some((e) => e.promptId === prompt.id && e.type === 'text' && e.partial), 'token-by-token text with partial messages on');
  });

  test('a follow-up reaches the model with the earlier turns, in the same warm process', async () => {
    const first = fx.engine.submit({ user: 'bob', text: '@reply the sky is green' });
    const firstDone = await fx.engine.waitForPrompt(first.session.id, first.prompt.id);
    const second = fx.engine.submit({ user: 'bob', text: '@echo' });
    const secondDone = await fx.engine.waitForPrompt(second.session.id, second.prompt.id);
    assert.equal(second.session.id, first.session.id);
    assert.deepEqual(JSON.parse(secondDone.result?.text ?? '{}'), { userTexts: ['@reply the sky is green', '@echo'] });
    const launches = eventLog(fx.eventLogFile).filter((e) => e.type === 'process_launched' && e.session === first.session.id);
    assert.equal(launches.length, 1, 'the follow-up reused the warm process');
    assert.ok(Math.abs((secondDone.result?.costUsd ?? 0) - (firstDone.result?.costUsd ?? 0)) < 1e-9, 'cost is per turn, not the running total');
    assert.ok(Math.abs((fx.engine.getSession(first.session.id)?.counters.costUsd ?? 0) - 2 * (firstDone.result?.costUsd ?? 0)) < 1e-9);
  });

  test('prompts to a busy session queue and run in order', async () => {
    const a = fx.engine.submit({ user: 'carol', text: '@wait 700\n@reply one' });
    const b = fx.engine.submit({ user: 'carol', session: a.session.id, text: '@reply two' });
    const c = fx.engine.submit({ user: 'carol', session: a.session.id, text: '@reply three' });
    assert.deepEqual([a.position, b.position, c.position], [0, 1, 2]);
    const done = await Promise.all([a, b, c].map((s) => fx.engine.waitForPrompt(s.session.id, s.prompt.id)));
    assert.deepEqual(done.map((p) => p.result?.text), ['one', 'two', 'three']);
    const finished = done.map((p) => Date.parse(p.finishedAt ?? ''));
    assert.ok(finished[0]! <= finished[1]! && finished[1]! <= finished[2]!);
    assert.ok(Date.parse(done[1]!.startedAt ?? '') >= finished[0]!, 'the second started after the first finished');
  });

  test('the per-user limit refuses one more session, naming the user and the limit', () => {
    const engine = fx.engine;
    const owned = engine.listSessions('dave').length;
    for (let i = owned; i < 4; i += 1) engine.createSession({ user: 'dave', name: `d${i}` });
    assert.throws(
      () => engine.createSession({ user: 'dave' }),
      (error: unknown) => error instanceof SessionLimitError && /"dave"/.test(error.message) && /4/.test(error.message),
    );
    assert.throws(() => engine.submit({ user: 'dave', newSession: {}, text: 'hi' }), SessionLimitError);
    assert.doesNotThrow(() => engine.createSession({ user: 'erin' }));
  });
});

describe('two users with two sessions each', () => {
  let world: TestWorld;
  let fx: EngineFixture;
  before(async () => {
    world = await createWorld('multi');
    fx = await startEngine(world);
  });
  after(async () => {
    await fx.engine.terminateAll();
    await fx.engine.close();
    await world.cleanup();
  });

  test('work at once, each in its own session and conversation', async () => {
    const submitted = ['u1', 'u2'].flatMap((user) =>
      [1, 2].map((n) => fx.engine.submit({ user, newSession: { name: `s${n}` }, text: `@wait 1500\n@reply ${user}-s${n}` })),
    );
    const done = await Promise.all(submitted.map((s) => fx.engine.waitForPrompt(s.session.id, s.prompt.id)));
    assert.deepEqual(done.map((p) => p.result?.text), ['u1-s1', 'u1-s2', 'u2-s1', 'u2-s2']);
    const latestStart = Math.max(...done.map((p) => Date.parse(p.startedAt ?? '')));
    const earliestFinish = Math.min(...done.map((p) => Date.parse(p.finishedAt ?? '')));
    assert.ok(latestStart < earliestFinish, 'all four turns were running at the same time');
    assert.equal(new Set(submitted.map((s) => s.session.conversationId)).size, 4);
    assert.equal(fx.engine.listSessions('u1').length, 2);
    assert.equal(fx.engine.listSessions('u2').length, 2);
  });
});

describe('stopping and timing out', () => {
  let world: TestWorld;
  let fx: EngineFixture;
  before(async () => {
    world = await createWorld('stop');
    fx = await startEngine(world, { promptTimeoutMs: 0 });
  });
  after(async () => {
    await fx.engine.terminateAll();
    await fx.engine.close();
    await world.cleanup();
  });

  const waitForInit = (promptId: string) => waitFor('the turn to reach the model', () => fx.events.some((e) => e.promptId === promptId && e.type === 'init'));

  test('stop interrupts the running turn and reports it', async () => {
    const long = fx.engine.submit({ user: 'u', text: '@wait 60000\n@reply never' });
    await waitForInit(long.prompt.id);
    const stopped = await fx.engine.stop(long.session.id, { user: 'u' });
    assert.equal(stopped.interruptedPromptId, long.prompt.id);
    const done = await fx.engine.waitForPrompt(long.session.id, long.prompt.id);
    assert.equal(done.result?.outcome, 'stopped');
    assert.equal(fx.engine.getSession(long.session.id)?.status, 'stopped');
    assert.equal(fx.engine.getSession(long.session.id)?.warm, true, 'the interrupt message ended the turn, not a kill');
  });

  test('a prompt sent right after a stop runs whole, not cut by the stop', async () => {
    const long = fx.engine.submit({ user: 'v', text: '@wait 60000\n@reply never' });
    await waitForInit(long.prompt.id);
    await fx.engine.stop(long.session.id);
    const next = fx.engine.submit({ user: 'v', session: long.session.id, text: '@wait 800\n@reply the next one' });
    const done = await fx.engine.waitForPrompt(next.session.id, next.prompt.id);
    assert.equal(done.result?.outcome, 'success');
    assert.equal(done.result?.text, 'the next one');
    assert.equal((await fx.engine.waitForPrompt(long.session.id, long.prompt.id)).result?.outcome, 'stopped');
  });

  test('stop --clear also drops the queue', async () => {
    const long = fx.engine.submit({ user: 'w', text: '@wait 60000\n@reply never' });
    const queued = [1, 2].map((n) => fx.engine.submit({ user: 'w', session: long.session.id, text: `@reply q${n}` }));
    await waitForInit(long.prompt.id);
    const stopped = await fx.engine.stop(long.session.id, { clear: true });
    assert.equal(stopped.clearedPrompts, 2);
    for (const q of queued) assert.equal((await fx.engine.waitForPrompt(q.session.id, q.prompt.id)).result?.outcome, 'cancelled');
    assert.equal((await fx.engine.waitForPrompt(long.session.id, long.prompt.id)).result?.outcome, 'stopped');
    assert.equal(fx.engine.getSession(long.session.id)?.queued, 0);
  });

  test('a turn that outlives the prompt timeout is interrupted and reported as timed out', async () => {
    fx.engine.updateSettings({ ...(await import('../support/engine-fixture.ts')).testSettings(world, { promptTimeoutMs: 1500 }) });
    const slow = fx.engine.submit({ user: 'x', text: '@wait 60000\n@reply never' });
    const done = await fx.engine.waitForPrompt(slow.session.id, slow.prompt.id);
    assert.equal(done.result?.outcome, 'timeout');
    assert.equal(done.result?.isError, true);
    const quick = fx.engine.submit({ user: 'x', session: slow.session.id, text: '@reply fine' });
    assert.equal((await fx.engine.waitForPrompt(quick.session.id, quick.prompt.id)).result?.text, 'fine');
  });
});

describe('a broken stream', () => {
  let world: TestWorld;
  let fx: EngineFixture;
  before(async () => {
    world = await createWorld('broken');
    fx = await startEngine(world);
  });
  after(async () => {
    await fx.engine.terminateAll();
    await fx.engine.close();
    await world.cleanup();
  });

  test('a malformed line is logged and skipped; a character split across writes arrives whole', async () => {
    const { session, prompt } = fx.engine.submit({ user: 'u', text: '@wait 2500\n@reply after the noise' });
    await waitFor('init', () => fx.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
    const stream = path.join(world.stateDir, 'sessions', session.id, 'stream.jsonl');
    fs.appendFileSync(stream, '{"type":"assistant","message":{"content":[{"type":"text","text":"broken\n');
    const line = Buffer.from('{"type":"assistant","message":{"content":[{"type":"text","text":"split 🌍 here"}]},"parent_tool_use_id":null}\n');
    const cut = line.indexOf(Buffer.from('🌍')) + 1;
    fs.appendFileSync(stream, line.subarray(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 150));
    fs.appendFileSync(stream, line.subarray(cut));
    const done = await fx.engine.waitForPrompt(session.id, prompt.id);
    assert.equal(done.result?.text, 'after the noise');
    assert.ok(fx.events.some((e) => e.type === 'text' && e.text === 'split 🌍 here'));
    assert.ok(fx.logLines.some((l) => l.includes('malformed stream line')));
  });
});

describe('a killed tmux server', () => {
  let world: TestWorld;
  let fx: EngineFixture;
  before(async () => {
    world = await createWorld('tmuxkill');
    fx = await startEngine(world);
  });
  after(async () => {
    await fx.engine.terminateAll();
    await fx.engine.close();
    await world.cleanup();
  });

  const killTmux = (): void => {
    execFileSync('tmux', ['-S', path.join(world.stateDir, 'tmux.sock'), 'kill-server'], { stdio: 'ignore' });
  };

  test('mid-turn: the turn is reported dead with the reason, and the session resumes its conversation', async () => {
    const first = fx.engine.submit({ user: 'u', text: '@reply remember me' });
    await fx.engine.waitForPrompt(first.session.id, first.prompt.id);
    const long = fx.engine.submit({ user: 'u', text: '@wait 60000\n@reply never' });
    await waitFor('init', () => fx.events.some((e) => e.promptId === long.prompt.id && e.type === 'init'));
    killTmux();
    const died = await fx.engine.waitForPrompt(long.session.id, long.prompt.id);
    assert.equal(died.result?.outcome, 'died');
    assert.match(died.result?.text ?? '', /tmux|gone|exited/);
    assert.ok(fx.events.some((e) => e.promptId === long.prompt.id && e.type === 'error'));
    const dead = fx.engine.getSession(long.session.id);
    assert.equal(dead?.status, 'dead');
    assert.ok(dead?.statusReason);
    const next = fx.engine.submit({ user: 'u', session: long.session.id, text: '@echo' });
    const resumed = await fx.engine.waitForPrompt(next.session.id, next.prompt.id);
    assert.equal(resumed.result?.outcome, 'success');
    const texts = (JSON.parse(resumed.result?.text ?? '{}') as { userTexts: string[] }).userTexts;
    assert.equal(texts[0], '@reply remember me', 'the resumed conversation holds the earlier turns');
    assert.equal(texts.at(-1), '@echo');
    assert.equal(fx.engine.getSession(long.session.id)?.status, 'idle');
  });

  test('between turns: the session is marked dead and comes back on its next prompt', async () => {
    const first = fx.engine.submit({ user: 'v', text: '@reply before' });
    await fx.engine.waitForPrompt(first.session.id, first.prompt.id);
    killTmux();
    await waitFor('the session marked dead', () => fx.engine.getSession(first.session.id)?.status === 'dead');
    const next = fx.engine.submit({ user: 'v', session: first.session.id, text: '@echo' });
    const done = await fx.engine.waitForPrompt(next.session.id, next.prompt.id);
    assert.deepEqual(JSON.parse(done.result?.text ?? '{}'), { userTexts: ['@reply before', '@echo'] });
  });

  test('a first turn killed before it reached the model still runs, and --resume works after it', async () => {
    const first = fx.engine.submit({ user: 'w', text: '@reply first words' });
    await waitFor('the turn started', () => fx.events.some((e) => e.promptId === first.prompt.id && e.type === 'started'));
    killTmux();
    const done = await fx.engine.waitForPrompt(first.session.id, first.prompt.id);
    assert.equal(done.result?.outcome, 'success');
    assert.equal(done.result?.text, 'first words');
    const next = fx.engine.submit({ user: 'w', session: first.session.id, text: '@echo' });
    const echoed = await fx.engine.waitForPrompt(next.session.id, next.prompt.id);
    assert.deepEqual((JSON.parse(echoed.result?.text ?? '{}') as { userTexts: string[] }).userTexts.at(-1), '@echo');
    assert.ok((JSON.parse(echoed.result?.text ?? '{}') as { userTexts: string[] }).userTexts.includes('@reply first words'));
  });
});

describe('the engine restarting', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld('restart');
  });
  after(async () => {
    await world.cleanup();
  });

  test('a result that finished while the engine was gone is delivered once, and never again', async () => {
    const a = await startEngine(world);
    const { session, prompt } = a.engine.submit({ user: 'u', text: '@wait 2000\n@reply finished while away' });
    await waitFor('init', () => a.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
    await a.engine.close();
    await waitFor('the CLI to finish the turn', () => fs.readFileSync(path.join(world.stateDir, 'sessions', session.id, 'stream.jsonl'), 'utf8').includes('finished while away"'), 15_000);

    const b = await startEngine(world);
    await waitFor('the held result delivered', () => resultsOf(b.events, prompt.id).length > 0);
    const [delivered] = resultsOf(b.events, prompt.id);
    assert.equal(delivered?.type === 'result' && delivered.result.text, 'finished while away');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(resultsOf(b.events, prompt.id).length, 1);
    await b.engine.close();

    const c = await startEngine(world);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(resultsOf(c.events, prompt.id).length, 0, 'a third start delivers nothing again');
    await c.engine.terminateAll();
    await c.engine.close();
  });

  test('a turn still running is followed to its end; queued prompts survive and keep their order', async () => {
    const a = await startEngine(world);
    const first = a.engine.submit({ user: 'q', text: '@wait 1500\n@reply one' });
    const rest = ['two', 'three'].map((word) => a.engine.submit({ user: 'q', session: first.session.id, text: `@reply ${word}` }));
    await waitFor('init', () => a.events.some((e) => e.promptId === first.prompt.id && e.type === 'init'));
    await a.engine.close();

    const b = await startEngine(world);
    const done = await Promise.all([first, ...rest].map((s) => b.engine.waitForPrompt(s.session.id, s.prompt.id)));
    assert.deepEqual(done.map((p) => p.result?.text), ['one', 'two', 'three']);
    await waitFor('three results delivered', () => [first, ...rest].every((s) => resultsOf(b.events, s.prompt.id).length === 1));
    await b.engine.terminateAll();
    await b.engine.close();
  });
});

describe('the warm process and its environment', () => {
  let world: TestWorld;
  let fx: EngineFixture;
  before(async () => {
    world = await createWorld('warmth');
    world.env.DAEMON_ONLY_TOKEN = 'tok-123-secret';
    world.env.CLAUDE_EXT_VAULT_PASSPHRASE = 'vault-pass-secret';
    fx = await startEngine(world, { env: { ADDED_BY_CONFIG: 'yes', LANG: null } });
    fx.engine.markSecretEnv('DAEMON_ONLY_TOKEN');
  });
  after(async () => {
    await fx.engine.terminateAll();
    await fx.engine.close();
    await world.cleanup();
  });

  test('a session sees what engine.env adds and none of the daemon\'s secrets', async () => {
    const { session, prompt } = fx.engine.submit({ user: 'u', text: '@tool Bash {"command":"env"}\n@echo-tool' });
    const done = await fx.engine.waitForPrompt(session.id, prompt.id);
    const env = done.result?.text ?? '';
    assert.match(env, /^ADDED_BY_CONFIG=yes$/m);
    assert.match(env, /^ANTHROPIC_BASE_URL=/m);
    assert.doesNotMatch(env, /tok-123-secret|vault-pass-secret/);
    assert.doesNotMatch(env, /^LANG=/m);
  });

  test('a prompt that needs other arguments restarts the process with --resume', async () => {
    const first = fx.engine.submit({ user: 'm', text: '@reply on the default model' });
    await fx.engine.waitForPrompt(first.session.id, first.prompt.id);
    const second = fx.engine.submit({ user: 'm', session: first.session.id, text: '@echo', options: { model: 'claude-haiku-4-5' } });
    const done = await fx.engine.waitForPrompt(second.session.id, second.prompt.id);
    assert.deepEqual(JSON.parse(done.result?.text ?? '{}'), { userTexts: ['@reply on the default model', '@echo'] });
    const last = world.api.conversationRequests().at(-1);
    assert.equal(last?.model, 'claude-haiku-4-5');
    const log = eventLog(fx.eventLogFile).filter((e) => e.session === first.session.id);
    assert.deepEqual(log.filter((e) => e.type === 'process_launched').map((e) => e.resume), [false, true]);
    assert.equal(log.filter((e) => e.type === 'process_restart').length, 1);
  });

  test('an idle session is offloaded after idle_timeout and resumes on its next prompt', async () => {
    const { testSettings } = await import('../support/engine-fixture.ts');
    fx.engine.updateSettings(testSettings(world, { idleTimeoutMs: 800, env: { ADDED_BY_CONFIG: 'yes' } }));
    const first = fx.engine.submit({ user: 'idle', text: '@reply soon idle' });
    await fx.engine.waitForPrompt(first.session.id, first.prompt.id);
    await waitFor('the process offloaded', () => fx.engine.getSession(first.session.id)?.warm === false, 10_000);
    assert.equal(fx.engine.getSession(first.session.id)?.status, 'idle');
    const next = fx.engine.submit({ user: 'idle', session: first.session.id, text: '@echo' });
    const done = await fx.engine.waitForPrompt(next.session.id, next.prompt.id);
    assert.deepEqual(JSON.parse(done.result?.text ?? '{}'), { userTexts: ['@reply soon idle', '@echo'] });
    assert.ok(eventLog(fx.eventLogFile).some((e) => e.type === 'process_offloaded' && e.session === first.session.id));
  });

  test('an ephemeral session is removed after its work, and its result is delivered first', async () => {
    const session = fx.engine.createSession({ user: 'scheduler', name: 'one run', ephemeral: true });
    const kept = fx.engine.createSession({ user: 'scheduler', name: 'kept' });
    const run = fx.engine.submit({ user: 'scheduler', session: session.id, text: '@reply ran once' });
    const done = await fx.engine.waitForPrompt(session.id, run.prompt.id);
    assert.equal(done.result?.text, 'ran once');
    await waitFor('the result to be delivered', () => fx.events.some((e) => e.type === 'result' && e.promptId === run.prompt.id));
    await waitFor('the ephemeral session to go', () => fx.engine.getSession(session.id) === undefined, 10_000);
    assert.ok(!fs.existsSync(path.join(world.stateDir, 'sessions', session.id)));
    assert.ok(fx.engine.getSession(kept.id), 'an ordinary idle session stays');
  });

  test('the state dir is private: directories 0700, files 0600', () => {
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        const mode = fs.lstatSync(full).mode & 0o777;
        if (entry.isDirectory()) {
          assert.equal(mode, 0o700, full);
          walk(full);
        } else if (entry.isFile()) {
          assert.equal(mode, 0o600, full);
        }
      }
    };
    assert.equal(fs.statSync(world.stateDir).mode & 0o777, 0o700);
    walk(world.stateDir);
  });
});

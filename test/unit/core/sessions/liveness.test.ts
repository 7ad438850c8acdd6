/** Processes that end or vanish while the engine runs, against a fake host. */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../../support/harness.ts';
import { cli, createFakeWorld, startFakeEngine, type FakeEngine, type FakeWorld } from '../../../support/fake-host.ts';

let world: FakeWorld;
let fx: FakeEngine;

beforeEach(async () => {
  world = createFakeWorld();
  fx = await startFakeEngine(world);
});

afterEach(async () => {
  await fx.engine.close();
  world.cleanup();
});

const started = (promptId: string, count = 1): Promise<boolean> =>
  waitFor(`prompt ${promptId} started ${count} time(s)`, () => fx.events.filter((e) => e.promptId === promptId && e.type === 'started').length >= count);
const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a process that vanishes mid-turn is noticed: the turn died, and the next prompt starts a new process', async () => {
  const { session, prompt } = fx.engine.submit({ user: 'u', text: 'work' });
  await started(prompt.id);
  world.host.write(session.id, cli.init());
  await waitFor('init', () => fx.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
  world.host.vanish(session.id);
  const done = await fx.finished(session.id, prompt.id);
  assert.equal(done.result?.outcome, 'died');
  assert.match(done.result?.text ?? '', /session process is gone/);
  assert.ok(fx.events.some((e) => e.promptId === prompt.id && e.type === 'error'));
  assert.deepEqual([fx.engine.getSession(session.id)?.status, fx.engine.getSession(session.id)?.warm], ['dead', false]);
  await settle();
  assert.equal(fx.resultsOf(prompt.id).length, 1);

  const next = fx.engine.submit({ user: 'u', session: session.id, text: 'again' });
  await started(next.prompt.id);
  assert.equal(world.host.launches.length, 2);
});

test('a process that exits before the prompt reached the model runs the prompt again, once', async () => {
  const { session, prompt } = fx.engine.submit({ user: 'u', text: 'first words' });
  await started(prompt.id);
  world.host.exit(session.id, 1);
  await started(prompt.id, 2);
  assert.equal(world.host.launches.length, 2, 'in a fresh process');
  assert.equal(fx.resultsOf(prompt.id).length, 0);

  world.host.exit(session.id, 1);
  const done = await fx.finished(session.id, prompt.id);
  assert.equal(done.result?.outcome, 'died', 'a second early death is reported');
  assert.match(done.result?.text ?? '', /exited with code 1/);
});

test('the CLI\'s last stderr lines say why its process ended', async () => {
  const { session, prompt } = fx.engine.submit({ user: 'u', text: 'work' });
  await started(prompt.id);
  world.host.write(session.id, cli.init());
  await waitFor('init', () => fx.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
  fs.appendFileSync(world.host.spec(session.id).stderrPath, 'Error: out of memory\n');
  world.host.exit(session.id, 137);
  const done = await fx.finished(session.id, prompt.id);
  assert.equal(done.result?.text, 'claude exited with code 137: Error: out of memory');
});

test('a session deleted while a liveness check asks the host is not reported dead, and nothing is written for it', async () => {
  const { session, prompt } = fx.engine.submit({ user: 'u', text: 'work' });
  await started(prompt.id);
  world.host.write(session.id, cli.init(), cli.result('done'));
  await fx.finished(session.id, prompt.id);
  // As tmux does: the session is gone from the host a while before terminate() returns (the process
  // group is waited for), so a check in that while finds the process gone and waits for the session.
  const terminate = world.host.terminate.bind(world.host);
  world.host.terminate = async (name) => {
    await terminate(name);
    await settle(200);
  };
  await fx.engine.deleteSession(session.id);
  await settle(300);
  const events = fs
    .readFileSync(path.join(world.stateDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; session?: string })
    .filter((event) => event.session === session.id)
    .map((event) => event.type);
  assert.deepEqual(fx.logLines.filter((line) => /session process ended|liveness check failed/.test(line)), []);
  assert.equal(events.at(-1), 'session_deleted', `events after the delete: ${events.join(', ')}`);
  assert.equal(fs.existsSync(path.join(world.stateDir, 'sessions', session.id)), false);
});

/**
 * Stop and timeout against a fake host: the CLI honours the interrupt, or ignores it and is killed
 * once the grace period is over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines, type FakeEngine } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();
const start = (settings: Parameters<typeof fakes.start>[0]): Promise<FakeEngine> => fakes.start(settings);

/** Submits a prompt and plays the CLI up to the model's first word: the turn is running. */
async function runningTurn(fx: FakeEngine, user = 'u'): Promise<{ sessionId: string; promptId: string }> {
  const { session, prompt } = fx.engine.submit({ user, text: 'take your time' });
  await waitFor('the turn to start', () => fx.events.some((e) => e.promptId === prompt.id && e.type === 'started'));
  fakes.world.host.write(session.id, cli.init());
  await waitFor('init', () => fx.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
  return { sessionId: session.id, promptId: prompt.id };
}

const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a stop the CLI ignores ends in a kill after the grace period, reported once as stopped', async () => {
  const fx = await start({ interruptGraceMs: 150 });
  const { sessionId, promptId } = await runningTurn(fx);
  const terminationsBefore = fakes.world.host.terminations.length;
  const stopped = await fx.engine.stop(sessionId);
  assert.equal(stopped.interruptedPromptId, promptId);
  assert.equal(typeof fakes.world.host.lastInterruptId(sessionId), 'string', 'the interrupt went to the CLI');
  const done = await fx.finished(sessionId, promptId);
  assert.equal(done.result?.outcome, 'stopped');
  assert.equal(done.result?.text, 'stopped; the process did not end the turn and was killed');
  assert.deepEqual(fakes.world.host.terminations.slice(terminationsBefore), [sessionId]);
  await waitFor('the result delivered', () => fx.resultsOf(promptId).length > 0);
  await settle();
  assert.equal(fx.resultsOf(promptId).length, 1);
  assert.deepEqual([fx.engine.getSession(sessionId)?.status, fx.engine.getSession(sessionId)?.warm], ['stopped', false]);
});

test('after a kill the next prompt starts a fresh process', async () => {
  const fx = await start({ interruptGraceMs: 100 });
  const { sessionId, promptId } = await runningTurn(fx);
  await fx.engine.stop(sessionId);
  await fx.finished(sessionId, promptId);
  const next = fx.engine.submit({ user: 'u', session: sessionId, text: 'again' });
  await waitFor('the next turn to start', () => fx.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'));
  assert.equal(fakes.world.host.launches.length, 2);
  assert.equal(fakes.world.host.input(sessionId).at(-1)?.type, 'user', 'the new process gets the prompt, not the old interrupt');
});

test('a turn past the prompt timeout the CLI does not end is killed, reported once as timed out', async () => {
  const fx = await start({ promptTimeoutMs: 100, interruptGraceMs: 100 });
  const { sessionId, promptId } = await runningTurn(fx);
  const done = await fx.finished(sessionId, promptId);
  assert.equal(done.result?.outcome, 'timeout');
  assert.equal(done.result?.text, 'timed out; the process did not end the turn and was killed');
  assert.equal(fakes.world.host.terminations.filter((name) => name === sessionId).length, 2, 'once before the launch, once for the kill');
  await waitFor('the result delivered', () => fx.resultsOf(promptId).length > 0);
  await settle();
  assert.equal(fx.resultsOf(promptId).length, 1);
});

test('a stop the CLI honours in time ends the turn as stopped, and the warm process stays', async () => {
  const fx = await start({ interruptGraceMs: 200 });
  const { sessionId, promptId } = await runningTurn(fx);
  await fx.engine.stop(sessionId);
  fakes.world.host.write(sessionId, cli.controlResponse(fakes.world.host.lastInterruptId(sessionId)), cli.interrupted());
  const done = await fx.finished(sessionId, promptId);
  assert.equal(done.result?.outcome, 'stopped');
  assert.equal(done.result?.text, 'stopped');
  await settle(400);
  assert.equal(fakes.world.host.terminations.filter((name) => name === sessionId).length, 1, 'only the terminate before the launch');
  assert.deepEqual([fx.engine.getSession(sessionId)?.status, fx.engine.getSession(sessionId)?.warm], ['stopped', true]);
  assert.equal(fx.resultsOf(promptId).length, 1);
});

test('a turn that ends before its interrupt is answered waits for the answer; a late answer frees the session', async () => {
  const fx = await start({ interruptGraceMs: 5000 });
  const { sessionId, promptId } = await runningTurn(fx);
  await fx.engine.stop(sessionId);
  fakes.world.host.write(sessionId, cli.interrupted());
  await fx.finished(sessionId, promptId);
  const next = fx.engine.submit({ user: 'u', session: sessionId, text: 'next' });
  await settle(200);
  assert.equal(fx.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'), false, 'the next prompt waits for the interrupt\'s answer');
  fakes.world.host.write(sessionId, cli.controlResponse(fakes.world.host.lastInterruptId(sessionId)));
  await waitFor('the next turn to start', () => fx.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'));
  assert.equal(fakes.world.host.launches.length, 1, 'in the same warm process');
});

test('a process that exits before answering a stop does not leave the session waiting for that answer', async () => {
  const fx = await start({ interruptGraceMs: 60_000 });
  const { sessionId, promptId } = await runningTurn(fx);
  await fx.engine.stop(sessionId);
  fakes.world.host.exit(sessionId, 130);
  assert.equal((await fx.finished(sessionId, promptId)).result?.outcome, 'stopped');
  const next = fx.engine.submit({ user: 'u', session: sessionId, text: 'next' });
  await waitFor('the next turn to start (no 60 s grace to wait for)', () => fx.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'), 5000);
});

test('a stopped turn whose process was ended while no engine ran: the next engine starts the next prompt', async () => {
  const first = await start({ interruptGraceMs: 60_000 });
  const { sessionId, promptId } = await runningTurn(first);
  await first.engine.stop(sessionId);
  await first.engine.close();
  await first.engine.terminateAll();
  const second = await start({ interruptGraceMs: 60_000 });
  assert.equal((await second.finished(sessionId, promptId)).result?.outcome, 'stopped');
  const next = second.engine.submit({ user: 'u', session: sessionId, text: 'next' });
  await waitFor('the next turn to start', () => second.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'), 5000);
});

test('a turn ended while no engine ran whose result is already in the stream gets that result', async () => {
  const first = await start({ interruptGraceMs: 60_000 });
  const { sessionId, promptId } = await runningTurn(first);
  await first.engine.close();
  fakes.world.host.write(sessionId, cli.result('finished just in time'));
  await first.engine.terminateAll();
  const second = await start({ interruptGraceMs: 60_000 });
  const done = await second.finished(sessionId, promptId);
  assert.deepEqual([done.result?.outcome, done.result?.text], ['success', 'finished just in time']);
});

/**
 * An engine starting on the state dir a previous one left, with the previous one's processes on a fake
 * host: what happened while no engine ran is found on disk and in the stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { SessionState } from '../../../../core/sessions/session-types.ts';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines, type FakeEngine } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();
const start = (settings: Parameters<typeof fakes.start>[0] = {}): Promise<FakeEngine> => fakes.start(settings);

/** A first engine starts a turn that reaches the model, then goes away leaving the process running. */
async function turnLeftRunning(): Promise<{ sessionId: string; promptId: string }> {
  const first = await start();
  const { session, prompt } = first.engine.submit({ user: 'u', text: 'a long task' });
  await waitFor('the turn to start', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'started'));
  fakes.world.host.write(session.id, cli.init(), cli.text('working on it'));
  await waitFor('the first text', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'text'));
  await first.engine.close();
  return { sessionId: session.id, promptId: prompt.id };
}

const sessionFile = (sessionId: string, name: string): string => path.join(fakes.world.stateDir, 'sessions', sessionId, name);
const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a turn still running is followed from the delivered offset; its result is delivered exactly once', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  const second = await start();
  assert.equal(second.engine.getSession(sessionId)?.status, 'busy');
  fakes.world.host.write(sessionId, cli.text('almost there'), cli.result('all done'));
  const done = await second.finished(sessionId, promptId);
  assert.equal(done.result?.outcome, 'success');
  assert.equal(done.result?.text, 'all done');
  await waitFor('the result delivered', () => second.resultsOf(promptId).length > 0);
  await settle();
  assert.equal(second.resultsOf(promptId).length, 1);
  const texts = second.events.filter((e) => e.type === 'text').map((e) => e.type === 'text' && e.text);
  assert.deepEqual(texts, ['almost there'], 'what the first engine delivered is not delivered again');
  assert.equal(second.events.some((e) => e.type === 'init'), false);
  assert.deepEqual([second.engine.getSession(sessionId)?.status, second.engine.getSession(sessionId)?.warm], ['idle', true]);
  await second.engine.close();

  const third = await start();
  await settle();
  assert.equal(third.resultsOf(promptId).length, 0, 'a later start delivers nothing again');
});

test('a process that died mid-turn while no engine ran: the turn is reported dead, the session too', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  fakes.world.host.vanish(sessionId);
  const second = await start();
  const done = await second.finished(sessionId, promptId);
  assert.equal(done.result?.outcome, 'died');
  assert.match(done.result?.text ?? '', /gone when the daemon started/);
  await waitFor('the result delivered', () => second.resultsOf(promptId).length > 0);
  await settle();
  assert.equal(second.resultsOf(promptId).length, 1);
  assert.ok(second.events.some((e) => e.promptId === promptId && e.type === 'error'));
  const session = second.engine.getSession(sessionId);
  assert.deepEqual([session?.status, session?.warm], ['dead', false]);
  assert.match(session?.statusReason ?? '', /gone when the daemon started/);
  assert.equal(second.engine.latestPromptId(sessionId), promptId);
});

test('a process that finished its turn and exited while no engine ran: the result is delivered, the session is dead', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  fakes.world.host.write(sessionId, cli.result('finished while away'));
  fakes.world.host.exit(sessionId, 0);
  const second = await start();
  await waitFor('the result delivered', () => second.resultsOf(promptId).length > 0);
  const [delivered] = second.resultsOf(promptId);
  assert.equal(delivered?.result.outcome, 'success');
  assert.equal(delivered?.result.text, 'finished while away');
  await settle();
  assert.equal(second.resultsOf(promptId).length, 1);
  const session = second.engine.getSession(sessionId);
  assert.equal(session?.status, 'dead');
  assert.match(session?.statusReason ?? '', /exited with code 0 while the daemon was down/);
  assert.equal(second.engine.getPrompt(sessionId, promptId).delivered, true);
});

test('a prompt chosen but never written when the engine died is queued again and runs', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  // The engine died after recording the turn and before appending the prompt to the input file.
  const state = JSON.parse(fs.readFileSync(sessionFile(sessionId, 'state.json'), 'utf8')) as SessionState;
  assert.ok(state.current);
  fs.truncateSync(sessionFile(sessionId, 'input.jsonl'), state.current.inputOffset);
  assert.deepEqual(fakes.world.host.input(sessionId), []);

  const second = await start();
  await waitFor('the prompt to start again', () => second.events.some((e) => e.promptId === promptId && e.type === 'started'));
  assert.deepEqual(fakes.world.host.input(sessionId), [{ type: 'user', message: { role: 'user', content: 'a long task' } }]);
  assert.equal(fakes.world.host.launches.length, 1, 'the warm process takes it');
  assert.equal(second.engine.getPrompt(sessionId, promptId).status, 'running');
  fakes.world.host.write(sessionId, cli.init(), cli.result('done at last'));
  const done = await second.finished(sessionId, promptId);
  assert.equal(done.result?.text, 'done at last');
  await waitFor('the result delivered', () => second.resultsOf(promptId).length > 0);
  await settle();
  assert.equal(second.resultsOf(promptId).length, 1);
});

test('queued prompts survive a restart and run in order', async () => {
  const first = await start();
  const running = first.engine.submit({ user: 'q', text: 'one' });
  const queued = ['two', 'three'].map((text) => first.engine.submit({ user: 'q', session: running.session.id, text }));
  await waitFor('the first turn to start', () => first.events.some((e) => e.promptId === running.prompt.id && e.type === 'started'));
  await first.engine.close();

  const second = await start();
  const sessionId = running.session.id;
  assert.equal(second.engine.getSession(sessionId)?.queued, 2);
  for (const [i, submitted] of [running, ...queued].entries()) {
    await waitFor(`turn ${i + 1} to be written`, () => fakes.world.host.input(sessionId).filter((line) => line.type === 'user').length === i + 1);
    fakes.world.host.write(sessionId, cli.init(), cli.result(`answer ${i + 1}`));
    assert.equal((await second.finished(sessionId, submitted.prompt.id)).result?.text, `answer ${i + 1}`);
  }
  const prompts = fakes.world.host.input(sessionId).filter((line) => line.type === 'user').map((line) => (line.message as { content: string }).content);
  assert.deepEqual(prompts, ['one', 'two', 'three']);
});

test('a stop whose grace period was running when the engine died still ends in a kill', async () => {
  const first = await start({ interruptGraceMs: 400 });
  const { session, prompt } = first.engine.submit({ user: 'u', text: 'stubborn' });
  await waitFor('the turn to start', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'started'));
  fakes.world.host.write(session.id, cli.init());
  await waitFor('init', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
  await first.engine.stop(session.id);
  await first.engine.close();

  const second = await start({ interruptGraceMs: 400 });
  const done = await second.finished(session.id, prompt.id);
  assert.equal(done.result?.outcome, 'stopped');
  assert.match(done.result?.text ?? '', /was killed/);
  assert.equal(fakes.world.host.terminations.at(-1), session.id);
  assert.equal(second.engine.getSession(session.id)?.warm, false);
});

test('a turn whose process was ended while no engine watched it (terminateAll) ends as died; the next prompt runs', async () => {
  const first = await start();
  const { session, prompt } = first.engine.submit({ user: 'u', text: 'a long task' });
  await waitFor('the turn to start', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'started'));
  fakes.world.host.write(session.id, cli.init());
  await first.engine.close();
  await first.engine.terminateAll();
  const second = await start();
  const done = await second.finished(session.id, prompt.id);
  assert.equal(done.result?.outcome, 'died');
  const next = second.engine.submit({ user: 'u', session: session.id, text: 'and now?' });
  await waitFor('the next turn to start', () => second.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'));
  fakes.world.host.write(session.id, cli.init(), cli.result('fine'));
  assert.equal((await second.finished(session.id, next.prompt.id)).result?.text, 'fine');
});

test('a prompt saved as running whose turn had already ended (a crash between the two writes) is finished with the reason, and its waiters answered', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  // The engine died after clearing the session's current turn and before saving the prompt as done.
  const stateFile = sessionFile(sessionId, 'state.json');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SessionState;
  const { current: _dropped, ...withoutTurn } = state;
  fs.writeFileSync(stateFile, JSON.stringify({ ...withoutTurn, status: 'idle' }));

  const second = await start();
  const done = await second.finished(sessionId, promptId, 3000);
  assert.equal(done.status, 'done');
  assert.equal(done.result?.outcome, 'died');
  assert.match(done.result?.text ?? '', /before its result was saved/);
  await waitFor('the result delivered', () => second.resultsOf(promptId).length > 0);

  // The session takes its next prompt, and a further restart does not finish the prompt again.
  const next = second.engine.submit({ user: 'u', session: sessionId, text: 'next' });
  await waitFor('the next prompt written', () => second.engine.getPrompt(sessionId, next.prompt.id).status === 'running');
  fakes.world.host.write(sessionId, cli.init(), cli.result('fine'));
  assert.equal((await second.finished(sessionId, next.prompt.id)).result?.text, 'fine');
  await second.engine.close();
  const third = await start();
  await settle();
  assert.equal(third.resultsOf(promptId).length, 0);
});

test('a result saved while the session still held its turn (a crash between the two writes) is delivered once, not recorded again', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  // The CLI ended the turn; the engine saved the prompt as done and died before letting go of the turn.
  fakes.world.host.write(sessionId, cli.result('the answer'));
  const promptFile = sessionFile(sessionId, path.join('prompts', `${promptId}.json`));
  const running = JSON.parse(fs.readFileSync(promptFile, 'utf8')) as Record<string, unknown>;
  const result = { outcome: 'success', isError: false, text: 'the answer', subtype: 'success', costUsd: 0, durationMs: 1, numTurns: 1, usage: { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 } };
  fs.writeFileSync(promptFile, JSON.stringify({ ...running, status: 'done', finishedAt: new Date().toISOString(), result, delivered: false }));
  const finishedAt = (JSON.parse(fs.readFileSync(promptFile, 'utf8')) as { finishedAt: string }).finishedAt;

  const second = await start();
  await waitFor('the result delivered', () => second.resultsOf(promptId).length > 0);
  await waitFor('the turn let go', () => second.engine.getSession(sessionId)?.status === 'idle');
  await settle();
  assert.equal(second.resultsOf(promptId).length, 1);
  const done = second.engine.getPrompt(sessionId, promptId);
  assert.deepEqual([done.result?.text, done.finishedAt], ['the answer', finishedAt], 'the saved result stands');
  assert.equal(fs.readFileSync(path.join(fakes.world.stateDir, 'events.jsonl'), 'utf8').split('\n').filter((line) => line.includes('"type":"prompt_stranded"')).length, 0);
  await second.engine.close();
});

test('a prompt chosen while its record still said queued (a crash between the two writes) runs once, not twice', async () => {
  const { sessionId, promptId } = await turnLeftRunning();
  // The engine died after recording the turn in the session's state, before saving the prompt as running
  // and before writing it to the process.
  const state = JSON.parse(fs.readFileSync(sessionFile(sessionId, 'state.json'), 'utf8')) as SessionState;
  assert.ok(state.current);
  fs.truncateSync(sessionFile(sessionId, 'input.jsonl'), state.current.inputOffset);
  const promptFile = sessionFile(sessionId, path.join('prompts', `${promptId}.json`));
  const record = JSON.parse(fs.readFileSync(promptFile, 'utf8')) as Record<string, unknown>;
  const { startedAt: _startedAt, ...queued } = record;
  fs.writeFileSync(promptFile, JSON.stringify({ ...queued, status: 'queued' }));

  const second = await start();
  await waitFor('the prompt to start again', () => second.events.some((e) => e.promptId === promptId && e.type === 'started'));
  fakes.world.host.write(sessionId, cli.init(), cli.result('once'));
  await second.finished(sessionId, promptId);
  await settle(500);
  const userTurns = fakes.world.host.input(sessionId).filter((line) => line.type === 'user');
  assert.equal(userTurns.length, 1, 'written to the process once');
  assert.equal(second.events.filter((e) => e.promptId === promptId && e.type === 'started').length, 1);
});

test('a submit repeated with its prompt id after a crash (the first was taken, its caller never learnt so) queues nothing new; it runs once', async () => {
  const first = await start();
  const taken = first.engine.submit({ user: 'r', text: 'only once', promptId: 'p_chosenby1' });
  assert.equal(taken.prompt.id, 'p_chosenby1');
  await waitFor('the turn to start', () => first.events.some((e) => e.promptId === taken.prompt.id && e.type === 'started'));
  await first.engine.close();

  const second = await start();
  const sessionId = taken.session.id;
  const again = second.engine.submit({ user: 'r', session: sessionId, text: 'only once', promptId: 'p_chosenby1' });
  assert.equal(again.prompt.id, taken.prompt.id);
  assert.equal(again.position, 0);
  assert.equal(second.engine.getSession(sessionId)?.queued, 0);
  fakes.world.host.write(sessionId, cli.init(), cli.result('done'));
  await second.finished(sessionId, taken.prompt.id);
  await settle();
  assert.equal(fakes.world.host.input(sessionId).filter((line) => line.type === 'user').length, 1, 'written to the process once');
  assert.throws(() => second.engine.submit({ user: 'r', session: sessionId, text: 'x', promptId: '../p_x' }), /not a prompt id/);
});

test('a process launched after a restart never has the launch id of one before it (answers meant for that one must not match)', async () => {
  const first = await start();
  const { session, prompt } = first.engine.submit({ user: 'u', text: 'a task' });
  const sessionId = session.id;
  const readLaunch = (): number | undefined => (JSON.parse(fs.readFileSync(sessionFile(sessionId, 'state.json'), 'utf8')) as SessionState).process?.launchId;
  await waitFor('the turn to start', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'started'));
  fakes.world.host.write(sessionId, cli.init());
  await waitFor('init', () => first.events.some((e) => e.promptId === prompt.id && e.type === 'init'));
  const before = readLaunch();
  assert.ok(before !== undefined);
  // The process dies while the engine runs: the session forgets it, then the daemon goes away.
  fakes.world.host.vanish(sessionId);
  await first.finished(sessionId, prompt.id);
  await waitFor('the process forgotten', () => readLaunch() === undefined);
  await first.engine.close();
  const second = await start();
  const again = second.engine.submit({ user: 'u', text: 'again', session: sessionId });
  await waitFor('the new process', () => second.events.some((e) => e.promptId === again.prompt.id && e.type === 'started'));
  const after = readLaunch();
  assert.ok(after !== undefined && after !== before, `launch ids ${before} and ${after}`);
});

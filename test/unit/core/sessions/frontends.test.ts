import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent, ResultEvent } from '../../../../core/sessions/events.ts';
import type { Frontend } from '../../../../core/sessions/frontends.ts';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines, type FakeEngine } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();
const RETRY = { firstMs: 50, maxMs: 200 };
const start = (options: Parameters<typeof fakes.start>[1] = {}): Promise<FakeEngine> => fakes.start({}, { frontendRetry: RETRY, ...options });
const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A frontend that records what it is handed; `deliver` answers as `answer` says (default: acknowledges). */
function recordingFrontend(answer: (result: ResultEvent, attempt: number) => Promise<void> = async () => undefined): Frontend & { delivered: ResultEvent[]; events: EngineEvent[] } {
  const delivered: ResultEvent[] = [];
  const events: EngineEvent[] = [];
  return {
    delivered,
    events,
    onEvent: (event) => void events.push(event),
    deliver: (result) => {
      delivered.push(result);
      return answer(result, delivered.filter((r) => r.promptId === result.promptId).length);
    },
  };
}

/** Runs one prompt in a new session with these labels to its result, playing the CLI. */
async function finishOne(fx: FakeEngine, answer: string, newSession: { labels?: Record<string, string>; ephemeral?: boolean } = { labels: { frontend: 'chat' } }): Promise<{ sessionId: string; promptId: string }> {
  const { session, prompt } = fx.engine.submit({ user: 'u', newSession, text: 'hello' });
  await waitFor('the prompt written', () => fx.engine.getPrompt(session.id, prompt.id).status === 'running');
  fakes.world.host.write(session.id, cli.init(), cli.text(answer), cli.result(answer));
  await fx.finished(session.id, prompt.id);
  return { sessionId: session.id, promptId: prompt.id };
}

const promptFile = (sessionId: string, promptId: string, done = false): string =>
  path.join(fakes.world.stateDir, 'sessions', sessionId, 'prompts', ...(done ? ['done'] : []), `${promptId}.json`);

test('a result for a frontend that is not registered stays pending, and is delivered when it registers', async () => {
  const fx = await start();
  const { sessionId, promptId } = await finishOne(fx, 'for the chat');
  const record = fx.engine.getPrompt(sessionId, promptId);
  assert.deepEqual([record.frontends, record.deliveredTo, record.delivered], [['chat'], [], true], 'handed to the callbacks, not acknowledged');
  assert.equal(fx.resultsOf(promptId).length, 1, 'other delivery callbacks still get the result');
  assert.ok(fs.existsSync(promptFile(sessionId, promptId)), 'kept among the open prompts');

  const frontend = recordingFrontend();
  fx.engine.addFrontend('chat', frontend);
  await waitFor('the delivery', () => fx.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat'));
  assert.deepEqual(frontend.delivered.map((r) => [r.promptId, r.result.text]), [[promptId, 'for the chat']]);
  assert.ok(fs.existsSync(promptFile(sessionId, promptId, true)) && !fs.existsSync(promptFile(sessionId, promptId)), 'moved to done/ once acknowledged');
});

test('a registered frontend gets its results through deliver, after the events before them, and every other event through onEvent', async () => {
  const fx = await start();
  const seenBeforeDelivery: string[] = [];
  const frontend = recordingFrontend(async (result) => {
    seenBeforeDelivery.push(...frontend.events.filter((e) => e.promptId === result.promptId).map((e) => e.type));
  });
  fx.engine.addFrontend('chat', frontend);
  const ours = await finishOne(fx, 'ours');
  const theirs = await finishOne(fx, 'unlabelled', {});
  await waitFor('the delivery', () => fx.engine.getPrompt(ours.sessionId, ours.promptId).deliveredTo?.includes('chat'));
  await waitFor('the unlabelled result through onEvent', () => frontend.events.some((e) => e.type === 'result' && e.promptId === theirs.promptId));
  assert.deepEqual(frontend.delivered.map((r) => r.promptId), [ours.promptId]);
  assert.equal(frontend.events.filter((e) => e.type === 'result' && e.promptId === ours.promptId).length, 0, 'its own result does not also come through onEvent');
  assert.deepEqual(seenBeforeDelivery, ['queued', 'started', 'init', 'text'], 'every earlier event of the prompt reached onEvent before deliver');
  const unlabelled = fx.engine.getPrompt(theirs.sessionId, theirs.promptId);
  assert.equal(unlabelled.frontends, undefined, 'a result without a frontend label needs no acknowledgement');
  assert.ok(fs.existsSync(promptFile(theirs.sessionId, theirs.promptId, true)));
});

test('a rejected delivery is retried with backoff until the frontend acknowledges it, and never handed again after', async () => {
  const fx = await start();
  const attempts: number[] = [];
  const frontend = recordingFrontend(async (_result, attempt) => {
    attempts.push(Date.now());
    if (attempt < 3) throw new Error('the chat service answered 500');
  });
  const registration = fx.engine.addFrontend('chat', frontend);
  const { sessionId, promptId } = await finishOne(fx, 'after two failures');
  await waitFor('the acknowledgement', () => fx.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat'));
  assert.equal(frontend.delivered.length, 3);
  assert.ok((attempts[1] ?? 0) - (attempts[0] ?? 0) >= RETRY.firstMs - 5, 'the first retry waited');
  assert.ok((attempts[2] ?? 0) - (attempts[1] ?? 0) >= 2 * RETRY.firstMs - 5, 'the second retry waited twice as long');
  assert.ok(fx.logLines.some((line) => line.includes('could not deliver a result') && line.includes('the chat service answered 500')));

  registration.dispose();
  const again = recordingFrontend();
  fx.engine.addFrontend('chat', again);
  await settle();
  assert.equal(again.delivered.length, 0, 'an acknowledged result is not handed to the frontend again');
  await fx.engine.close();
  const restarted = await start();
  const afterRestart = recordingFrontend();
  restarted.engine.addFrontend('chat', afterRestart);
  await settle();
  assert.equal(afterRestart.delivered.length, 0, 'nor after a restart');
});

test('a frontend that throws instead of rejecting is retried too', async () => {
  const fx = await start();
  let calls = 0;
  fx.engine.addFrontend('chat', {
    deliver: () => {
      calls += 1;
      if (calls === 1) throw new Error('synchronous failure');
      return Promise.resolve();
    },
  });
  const { sessionId, promptId } = await finishOne(fx, 'thrown');
  await waitFor('the acknowledgement', () => fx.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat'));
  assert.equal(calls, 2);
});

test('pending results are kept across an engine restart; one taken but not acknowledged is handed again with the same id', async () => {
  const fx = await start();
  const { sessionId, promptId } = await finishOne(fx, 'before the restart');
  // A frontend takes a second result and never says it has it (it crashed between sending and acknowledging).
  const hanging = recordingFrontend(() => new Promise<void>(() => undefined));
  fx.engine.addFrontend('chat', hanging);
  await waitFor('the first result handed over', () => hanging.delivered.length === 1);
  const second = await finishOne(fx, 'taken, not acknowledged');
  await waitFor('the second result handed over', () => hanging.delivered.length === 2);
  await fx.engine.close();

  const restarted = await start();
  const frontend = recordingFrontend();
  restarted.engine.addFrontend('chat', frontend);
  await waitFor('both results', () => frontend.delivered.length === 2);
  assert.deepEqual(frontend.delivered.map((r) => r.promptId).sort(), [promptId, second.promptId].sort());
  assert.equal(frontend.delivered.find((r) => r.promptId === second.promptId)?.result.text, 'taken, not acknowledged');
  await waitFor('the acknowledgements', () => restarted.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat') && restarted.engine.getPrompt(second.sessionId, second.promptId).deliveredTo?.includes('chat'));
  await settle();
  assert.equal(frontend.delivered.length, 2, 'each once');
});

test('a frontend that failed and stopped gets the result again as soon as it is back, not after the backoff', async () => {
  const fx = await start({ frontendRetry: { firstMs: 60_000, maxMs: 60_000 } });
  const first = recordingFrontend(() => Promise.reject(new Error('stopping')));
  const registration = fx.engine.addFrontend('chat', first);
  const { sessionId, promptId } = await finishOne(fx, 'while it stopped');
  await waitFor('the failed attempt', () => first.delivered.length === 1);
  registration.dispose();
  const second = recordingFrontend();
  fx.engine.addFrontend('chat', second);
  await waitFor('the acknowledgement', () => fx.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat'));
  assert.equal(second.delivered.length, 1);
});

test('a frontend that stops while its delivery waits in its queue does not get it; its next registration does, once', async () => {
  const fx = await start();
  let unblock: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (unblock = resolve));
  const first = recordingFrontend();
  const registration = fx.engine.addFrontend('chat', { ...first, onEvent: (event) => (event.type === 'started' ? blocked : undefined) });
  const { sessionId, promptId } = await finishOne(fx, 'queued behind a slow event');
  registration.dispose();
  let acknowledge: () => void = () => undefined;
  const second = recordingFrontend(() => new Promise<void>((resolve) => (acknowledge = resolve)));
  fx.engine.addFrontend('chat', second);
  await waitFor('the delivery to the new registration', () => second.delivered.length === 1);
  // The stopped registration's queue moves on while the new one is still sending.
  unblock();
  await settle();
  acknowledge();
  await waitFor('the acknowledgement', () => fx.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat'));
  assert.equal(first.delivered.length, 0, 'nothing for the stopped registration');
  assert.equal(second.delivered.length, 1);
});

test('paused delivery hands a frontend nothing until it opens', async () => {
  const fx = await start();
  const { sessionId, promptId } = await finishOne(fx, 'held over a reload');
  fx.engine.pauseDelivery();
  const frontend = recordingFrontend();
  fx.engine.addFrontend('chat', frontend);
  await settle();
  assert.equal(frontend.delivered.length, 0);
  fx.engine.openDelivery();
  await waitFor('the acknowledgement', () => fx.engine.getPrompt(sessionId, promptId).deliveredTo?.includes('chat'));
});

test('an ephemeral session stays while its result waits for its frontend, and goes once it is acknowledged', async () => {
  const fx = await start({ ephemeralLingerMs: 50 });
  const { sessionId, promptId } = await finishOne(fx, 'scheduled run', { labels: { frontend: 'chat' }, ephemeral: true });
  await settle(400);
  assert.ok(fx.engine.getSession(sessionId), 'kept for its frontend');
  const frontend = recordingFrontend();
  fx.engine.addFrontend('chat', frontend);
  await waitFor('the session to go', () => fx.engine.getSession(sessionId) === undefined);
  assert.deepEqual(frontend.delivered.map((r) => r.promptId), [promptId]);
});

test('a finished one-off session kept for its frontend holds no place among its user\'s sessions', async () => {
  const fx = await fakes.start({ maxPerUser: 1 }, { frontendRetry: RETRY, ephemeralLingerMs: 50 });
  const kept = await finishOne(fx, 'kept for the chat', { labels: { frontend: 'chat' }, ephemeral: true });
  await settle(200);
  assert.ok(fx.engine.getSession(kept.sessionId), 'kept for its frontend');
  assert.doesNotThrow(() => fx.engine.createSession({ user: 'u', name: 'next' }));
});

test('a session that speaks through reports (delivery: reports) has results for no frontend', async () => {
  const fx = await start();
  const { sessionId, promptId } = await finishOne(fx, 'nothing to report', { labels: { frontend: 'chat', delivery: 'reports' } });
  assert.equal(fx.engine.getPrompt(sessionId, promptId).frontends, undefined);
  assert.ok(fs.existsSync(promptFile(sessionId, promptId, true)));
});

test('the results of a deleted session go to nobody', async () => {
  const fx = await start();
  const { sessionId } = await finishOne(fx, 'deleted before the frontend came');
  await fx.engine.deleteSession(sessionId);
  const frontend = recordingFrontend();
  fx.engine.addFrontend('chat', frontend);
  await settle();
  assert.equal(frontend.delivered.length, 0);
});

test('a record from before acknowledgements, not delivered, is for its session\'s frontend', async () => {
  const fx = await start({ record: false });
  const { sessionId, promptId } = await finishOne(fx, 'older record');
  await fx.engine.close();
  const file = promptFile(sessionId, promptId);
  const { frontends: _frontends, deliveredTo: _deliveredTo, ...older } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...older, delivered: false }));
  const restarted = await start();
  const frontend = recordingFrontend();
  restarted.engine.addFrontend('chat', frontend);
  await waitFor('the delivery', () => frontend.delivered.length === 1);
  assert.equal(frontend.delivered[0]?.promptId, promptId);
});

test('two frontends of one name cannot be registered', async () => {
  const fx = await start();
  fx.engine.addFrontend('chat', recordingFrontend());
  assert.throws(() => fx.engine.addFrontend('chat', recordingFrontend()), /already registered/);
});

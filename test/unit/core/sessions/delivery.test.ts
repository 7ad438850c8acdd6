import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../../../core/sessions/events.ts';
import { DeliveryQueue } from '../../../../core/sessions/delivery.ts';
import { createLogger } from '../../../../core/util/log.ts';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines, type FakeEngine } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();
const start = (options: Parameters<typeof fakes.start>[1] = {}): Promise<FakeEngine> => fakes.start({}, options);

const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const resultsIn = (events: EngineEvent[], promptId: string): EngineEvent[] => events.filter((e) => e.type === 'result' && e.promptId === promptId);

/** Submits a prompt and waits until it is written to the process. */
async function startOne(fx: FakeEngine, text: string): Promise<{ sessionId: string; promptId: string }> {
  const { session, prompt } = fx.engine.submit({ user: 'u', text });
  await waitFor('the prompt written', () => fx.engine.getPrompt(session.id, prompt.id).status === 'running');
  return { sessionId: session.id, promptId: prompt.id };
}

/** Runs one prompt to its result, playing the CLI. */
async function finishOne(fx: FakeEngine, answer: string): Promise<{ sessionId: string; promptId: string }> {
  const { sessionId, promptId } = await startOne(fx, 'hello');
  fakes.world.host.write(sessionId, cli.init(), cli.result(answer));
  await fx.finished(sessionId, promptId);
  return { sessionId, promptId };
}

test('a result that finished while no callback was registered is held, then delivered once to the first callback', async () => {
  const fx = await start({ record: false });
  const { sessionId, promptId } = await finishOne(fx, 'nobody listened');
  assert.equal(fx.engine.getPrompt(sessionId, promptId).delivered, false);

  const first: EngineEvent[] = [];
  fx.engine.onDelivery((event) => void first.push(event));
  await waitFor('the held result', () => resultsIn(first, promptId).length > 0);
  const [held] = resultsIn(first, promptId);
  assert.equal(held?.type === 'result' && held.result.text, 'nobody listened');
  assert.equal(fx.engine.getPrompt(sessionId, promptId).delivered, true);

  const second: EngineEvent[] = [];
  fx.engine.onDelivery((event) => void second.push(event));
  await settle();
  assert.equal(resultsIn(first, promptId).length, 1);
  assert.equal(resultsIn(second, promptId).length, 0, 'a held result goes to the first callback only');
  await fx.engine.close();

  const restarted = await start();
  await settle();
  assert.equal(restarted.resultsOf(promptId).length, 0, 'delivered results are not held again at the next start');
});

test('a result not delivered before a restart is held on disk and delivered by the next start', async () => {
  const fx = await start({ record: false });
  const { promptId } = await finishOne(fx, 'kept on disk');
  await fx.engine.close();
  const restarted = await start();
  await waitFor('the held result', () => restarted.resultsOf(promptId).length > 0);
  await settle();
  assert.equal(restarted.resultsOf(promptId).length, 1);
  assert.equal(restarted.resultsOf(promptId)[0]?.result.text, 'kept on disk');
});

test('paused delivery holds results and starts no prompt; opening hands them out and starts it', async () => {
  const fx = await start();
  const { sessionId, promptId } = await startOne(fx, 'first');
  fx.engine.pauseDelivery();
  fakes.world.host.write(sessionId, cli.init(), cli.result('while paused'));
  await fx.finished(sessionId, promptId);
  const next = fx.engine.submit({ user: 'u', session: sessionId, text: 'second' });
  await settle();
  assert.equal(fx.resultsOf(promptId).length, 0, 'held while paused');
  assert.equal(fx.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'), false, 'no prompt starts while paused');
  fx.engine.openDelivery();
  await waitFor('the held result', () => fx.resultsOf(promptId).length > 0);
  await waitFor('the next prompt to start', () => fx.events.some((e) => e.promptId === next.prompt.id && e.type === 'started'));
  await settle();
  assert.equal(fx.resultsOf(promptId).length, 1);
});

test('a callback that throws still gets the events after it', async () => {
  const seen: string[] = [];
  const lines: string[] = [];
  const queue = new DeliveryQueue((event) => {
    seen.push(event.type);
    if (event.type === 'started') throw new Error('boom');
  }, createLogger({ level: 'error', sinks: [{ write: (line) => lines.push(line) }] }));
  const base = { sessionId: 's', user: 'u', promptId: 'p' };
  queue.push({ ...base, type: 'started' });
  queue.push({ ...base, type: 'text', text: 'after', partial: false });
  await queue.drained();
  assert.deepEqual(seen, ['started', 'text']);
  assert.ok(lines.some((line) => line.includes('delivery callback failed')));
});

/** A stop is an event of its own: extensions learn of a stop even when no turn was running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();

test('stopping a session, idle or busy, is a stop event; the daemon ending a turn whose tool call was lost is not', async () => {
  const { engine, events } = await fakes.start();
  const first = engine.submit({ user: 'u', text: 'one' });
  const sessionId = first.session.id;
  await waitFor('the turn', () => engine.getPrompt(sessionId, first.prompt.id).status === 'running');
  fakes.world.host.write(sessionId, cli.init(), cli.result('done'));
  await waitFor('idle', () => engine.getSession(sessionId)?.status === 'idle');

  await engine.stop(sessionId);
  await waitFor('the stop event', () => events.some((e) => e.type === 'stop' && e.sessionId === sessionId));
  const busy = engine.submit({ user: 'u', session: sessionId, text: 'two' });
  await waitFor('the second turn', () => engine.getPrompt(sessionId, busy.prompt.id).status === 'running');
  await engine.stopForLostToolCall(sessionId, { server: 'x', tool: 'y' });
  await waitFor('the lost call told', () => events.some((e) => e.type === 'tool_call_lost'));
  assert.equal(events.filter((e) => e.type === 'stop').length, 1);
  await engine.stop(sessionId, { clear: true });
  await waitFor('a second stop event', () => events.filter((e) => e.type === 'stop').length === 2);
  const stop = events.filter((e) => e.type === 'stop').at(-1);
  assert.equal(stop?.promptId, busy.prompt.id);
});

/** Silent prompts: an extension's housekeeping turn runs before waiting prompts and is seen by no frontend. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();

test('a silent prompt goes before the prompts already queued; its events and result reach only who follows it', async () => {
  const { engine, events, resultsOf, finished } = await fakes.start();
  const first = engine.submit({ user: 'u', text: 'first' });
  const sessionId = first.session.id;
  await waitFor('the first turn', () => engine.getPrompt(sessionId, first.prompt.id).status === 'running');
  const waiting = engine.submit({ user: 'u', session: sessionId, text: 'the person waits' });
  const silent = engine.submit({ user: 'u', session: sessionId, text: 'save your notes', options: { silent: true } });
  assert.equal(silent.position, 1, 'right after the running turn');
  const followed: string[] = [];
  engine.watchPrompt(silent.prompt.id, (event) => followed.push(event.type));

  fakes.world.host.write(sessionId, cli.init(), cli.result('first done'));
  await finished(sessionId, first.prompt.id);
  await waitFor('the silent turn to start', () => engine.getPrompt(sessionId, silent.prompt.id).status === 'running');
  assert.equal(engine.getPrompt(sessionId, waiting.prompt.id).status, 'queued');
  fakes.world.host.write(sessionId, cli.init(), cli.text('saved'), cli.result('notes saved'));
  const done = await engine.waitForPrompt(sessionId, silent.prompt.id);
  assert.equal(done.result?.text, 'notes saved');
  assert.ok(followed.includes('result') && followed.includes('text'), followed.join(','));

  await waitFor('the waiting prompt to start', () => engine.getPrompt(sessionId, waiting.prompt.id).status === 'running');
  fakes.world.host.write(sessionId, cli.init(), cli.result('answered'));
  await finished(sessionId, waiting.prompt.id);
  await waitFor('the results delivered', () => resultsOf(waiting.prompt.id).length > 0);
  assert.deepEqual(resultsOf(silent.prompt.id), []);
  assert.deepEqual(events.filter((e) => e.promptId === silent.prompt.id), []);
  assert.equal(engine.getSession(sessionId)?.lastPrompt, 'the person waits');
});

/** A session's waiting prompts as others see them: in order, previewed, silent ones left out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();

test('queued prompts: the waiting ones in the order they run, with a preview; the running one and silent ones are not listed', async () => {
  const { engine, finished } = await fakes.start();
  const first = engine.submit({ user: 'u', text: 'running' });
  const sessionId = first.session.id;
  await waitFor('the first turn', () => engine.getPrompt(sessionId, first.prompt.id).status === 'running');
  assert.deepEqual(engine.queuedPrompts(sessionId), []);

  const long = engine.submit({ user: 'u', session: sessionId, text: `${'x'.repeat(250)}end` });
  const asked = engine.submit({ user: 'u', session: sessionId, text: 'from another session', fromSession: 's_other' });
  const silent = engine.submit({ user: 'u', session: sessionId, text: 'housekeeping', options: { silent: true } });
  assert.equal(silent.position, 1, 'the silent prompt runs next');
  const listed = engine.queuedPrompts(sessionId);
  assert.deepEqual(
    listed.map(({ id, preview, position, fromSession }) => ({ id, preview, position, fromSession })),
    [
      { id: long.prompt.id, preview: 'x'.repeat(200), position: 1, fromSession: undefined },
      { id: asked.prompt.id, preview: 'from another session', position: 2, fromSession: 's_other' },
    ],
  );
  assert.equal(listed[0]!.queuedAt, long.prompt.enqueuedAt);

  assert.equal(await engine.withdraw(sessionId, long.prompt.id, 'not needed'), true);
  assert.deepEqual(engine.queuedPrompts(sessionId).map((p) => [p.id, p.position]), [[asked.prompt.id, 1]]);
  await engine.withdraw(sessionId, asked.prompt.id, 'not needed');
  fakes.world.host.write(sessionId, cli.init(), cli.result('done'));
  await finished(sessionId, first.prompt.id);
  assert.throws(() => engine.queuedPrompts('s_nothing'), /no session/);
});

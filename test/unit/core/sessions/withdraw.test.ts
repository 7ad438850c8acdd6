/** Withdrawing a queued prompt: it never runs and gets a cancelled result; a started one cannot be withdrawn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();

test('a queued prompt is withdrawn: cancelled with the reason, never written to the CLI; the running one is not', async () => {
  const fx = await fakes.start();
  const first = fx.engine.submit({ user: 'u', text: 'busy' });
  await waitFor('the first turn to start', () => fx.events.some((e) => e.promptId === first.prompt.id && e.type === 'started'));
  const sessionId = first.session.id;
  const queued = fx.engine.submit({ user: 'u', session: sessionId, text: 'never', fromSession: 's_other' });
  assert.equal(queued.prompt.fromSession, 's_other');
  assert.equal(fx.engine.getPrompt(sessionId, queued.prompt.id).fromSession, 's_other', 'the sender is kept on disk');

  assert.equal(await fx.engine.withdraw(sessionId, first.prompt.id, 'too late'), false, 'a running prompt stays');
  assert.equal(await fx.engine.withdraw(sessionId, queued.prompt.id, 'nobody waits for it'), true);
  const withdrawn = fx.engine.getPrompt(sessionId, queued.prompt.id);
  assert.equal(withdrawn.status, 'done');
  assert.deepEqual([withdrawn.result?.outcome, withdrawn.result?.text], ['cancelled', 'nobody waits for it']);
  assert.equal(await fx.engine.withdraw(sessionId, queued.prompt.id, 'again'), false, 'a finished prompt stays as it is');

  fakes.world.host.write(sessionId, cli.init(), cli.result('done'));
  await fx.finished(sessionId, first.prompt.id);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const userTurns = fakes.world.host.input(sessionId).filter((line) => line.type === 'user');
  assert.equal(userTurns.length, 1, 'only the first prompt reached the CLI');
  assert.equal(fx.engine.getSession(sessionId)?.queued, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { defaultMaxWarm } from '../../../../core/sessions/engine-settings.ts';
import { waitFor } from '../../../support/harness.ts';
import { cli, useFakeEngines, type FakeEngine } from '../../../support/fake-host.ts';

const fakes = useFakeEngines();

async function runPrompt(fx: FakeEngine, user: string, session?: string): Promise<string> {
  const { session: s, prompt } = fx.engine.submit({ user, ...(session ? { session } : {}), text: 'hi' });
  await waitFor('the prompt written', () => fx.engine.getPrompt(s.id, prompt.id).status === 'running');
  fakes.world.host.write(s.id, cli.init(), cli.result('ok'));
  await fx.finished(s.id, prompt.id);
  return s.id;
}

function offloads(): { session: string; reason: string }[] {
  const file = path.join(fakes.world.stateDir, 'events.jsonl');
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; session: string; reason: string })
    .filter((event) => event.type === 'process_offloaded');
}

test('past sessions.max_warm the least recently active idle process is offloaded, and comes back for its next prompt', async () => {
  const fx = await fakes.start({ maxWarm: 2 });
  const a = await runPrompt(fx, 'a');
  const b = await runPrompt(fx, 'b');
  assert.deepEqual(offloads(), []);
  const c = await runPrompt(fx, 'c');
  await waitFor('an offload', () => offloads().length === 1);
  assert.equal(offloads()[0]?.session, a, 'the least recently active one');
  assert.match(offloads()[0]?.reason ?? '', /sessions\.max_warm/);
  assert.equal(fx.engine.counts().warm, 2);
  assert.ok(!(await fakes.world.host.isRunning(a)));

  // a's next prompt starts its process again; b, now the least recently active, makes room.
  await runPrompt(fx, 'a', a);
  await waitFor('a second offload', () => offloads().length === 2);
  assert.equal(offloads()[1]?.session, b);
  assert.ok(await fakes.world.host.isRunning(c));
});

test('a busy session is never offloaded to make room', async () => {
  const fx = await fakes.start({ maxWarm: 1 });
  const { session: busy, prompt } = fx.engine.submit({ user: 'a', text: 'long' });
  await waitFor('the long prompt running', () => fx.engine.getPrompt(busy.id, prompt.id).status === 'running');
  await runPrompt(fx, 'b');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(!offloads().some((event) => event.session === busy.id));
  assert.ok(await fakes.world.host.isRunning(busy.id));
});

test('the default is sized from the memory: this machine class (24 GiB) keeps dozens warm, a small one at least 4', () => {
  assert.equal(defaultMaxWarm(24 * 1024 ** 3), 55);
  assert.equal(defaultMaxWarm(512 * 1024 ** 2), 4);
});

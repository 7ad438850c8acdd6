import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StreamTail } from '../../../../core/sessions/claude/stream-tail.ts';
import { redactEvent, valuesRedactor } from '../../../../core/shaping/redaction.ts';
import type { EngineEvent } from '../../../../core/sessions/events.ts';
import { cli, useFakeEngines } from '../../../support/fake-host.ts';
import { waitFor } from '../../../support/harness.ts';

const fakes = useFakeEngines();

test('a line whose handler throws is skipped: later lines arrive once, with exact offsets', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ce-tail-')), 'stream.jsonl');
  fs.writeFileSync(file, 'one\nbad\nthree\n');
  const lines: [string, number][] = [];
  const failures: number[] = [];
  const tail = new StreamTail(
    file,
    0,
    (line, end) => {
      if (line === 'bad') throw new Error('no space left on device');
      lines.push([line, end]);
    },
    (_error, end) => failures.push(end),
  );
  tail.readAvailable();
  fs.appendFileSync(file, 'four\n');
  tail.readAvailable();
  assert.deepEqual(lines, [['one', 4], ['three', 14], ['four', 19]]);
  assert.deepEqual(failures, [8]);
  assert.equal(tail.offset, 19);
});

test('redaction walks a tool input nested 3,000 levels deep without overflowing', () => {
  let input: unknown = 'the secret';
  for (let i = 0; i < 3000; i += 1) input = { inner: [input] };
  const redacted = redactEvent({ type: 'tool_use', name: 'Bash', input, user: 'u' } as const, [valuesRedactor(() => ['the secret'])]);
  let value: unknown = redacted.input;
  for (let i = 0; i < 3000; i += 1) value = (value as { inner: unknown[] }).inner[0];
  assert.equal(value, '[REDACTED]');
});

test("a turn whose stream has a line that cannot be handled still delivers its result, and the stream goes on", async () => {
  const redactor = valuesRedactor(() => ['hunter2']);
  const fx = await fakes.start({}, {
    redact: <E extends EngineEvent>(event: E): E => {
      if (event.type === 'text' && event.text.includes('explode')) throw new Error('the redactor failed');
      return redactEvent(event, [redactor]);
    },
  });
  const { session, prompt } = fx.engine.submit({ user: 'u', text: 'go' });
  await waitFor('the prompt written', () => fx.engine.getPrompt(session.id, prompt.id).status === 'running');
  // Written as text: JSON.stringify itself cannot go this deep, though the CLI can write it.
  let deep = '"hunter2"';
  for (let i = 0; i < 3000; i += 1) deep = `{"inner":[${deep}]}`;
  const host = fakes.world.host;
  host.write(session.id, cli.init());
  fs.appendFileSync(host.spec(session.id).outputPath, `{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Bash","input":${deep}}]},"parent_tool_use_id":null}\n`);
  host.write(session.id, cli.text('explode'), cli.text('after'), cli.result('done'));
  const finished = await fx.finished(session.id, prompt.id, 3000);
  assert.equal(finished.result?.outcome, 'success');
  assert.equal(finished.result?.text, 'done');
  await waitFor('the result delivered', () => fx.resultsOf(prompt.id).length > 0);
  const texts = fx.events.filter((e) => e.type === 'text' && e.promptId === prompt.id).map((e) => (e as { text: string }).text);
  assert.deepEqual(texts, ['after'], 'the failing line was skipped, the next one delivered');
  const call = fx.events.find((e) => e.type === 'tool_use' && e.promptId === prompt.id);
  assert.ok(call, 'the deeply nested call was delivered');
  assert.match(JSON.stringify(call), /nested deeper than 64 levels: cut/, 'cut, so that every consumer can serialise it');
  assert.ok(fx.logLines.some((line) => /could not be handled; it is skipped/.test(line)));

  // The next prompt runs normally on the same stream.
  const next = fx.engine.submit({ user: 'u', session: session.id, text: 'again' });
  await waitFor('the second prompt written', () => fx.engine.getPrompt(session.id, next.prompt.id).status === 'running');
  host.write(session.id, cli.init(), cli.result('second'));
  assert.equal((await fx.finished(session.id, next.prompt.id, 3000)).result?.text, 'second');
});

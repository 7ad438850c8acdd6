import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactEvent, valuesRedactor } from '../../../../core/shaping/redaction.ts';

test('every known value is hidden wherever it appears, longest first', () => {
  let values = ['s3cr3t-token', 's3cr3t'];
  const redactor = valuesRedactor(() => values);
  const event = { type: 'tool_result', content: 'got s3cr3t-token and s3cr3t, a.b*c', nested: { list: ['x s3cr3t y'] } };
  assert.deepEqual(redactEvent(event, [redactor]), { type: 'tool_result', content: 'got [REDACTED] and [REDACTED], a.b*c', nested: { list: ['x [REDACTED] y'] } });
  values = ['a.b*c'];
  assert.equal(redactEvent(event, [redactor]).content, 'got [REDACTED] and [REDACTED], a.b*c', 'the cached pattern holds until invalidated');
  redactor.invalidate();
  assert.equal(redactEvent(event, [redactor]).content, 'got s3cr3t-token and s3cr3t, [REDACTED]', 'regex characters in values are literal');
});

test('tool inputs are masked before the value is known; no redactors returns the event itself', () => {
  const masking = { redact: (text: string) => text, maskToolInput: (name: string, input: unknown) => (name === 'store' ? { ...(input as object), value: '[REDACTED]' } : input) };
  const event = { type: 'tool_use', name: 'store', input: { key: 'k', value: 'plain' } };
  assert.deepEqual(redactEvent(event, [masking]).input, { key: 'k', value: '[REDACTED]' });
  assert.equal(event.input.value, 'plain', 'the original is not changed');
  assert.equal(redactEvent(event, []), event);
});

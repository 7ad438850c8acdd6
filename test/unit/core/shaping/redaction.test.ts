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

test("a user's text hides that user's secrets only; text of no known user hides every user's", () => {
  const vault = new Map([
    ['alice', ['1234-alice-pin']],
    ['bob', ['bob-token-xyz']],
  ]);
  const valuesOf = (user: string | undefined): string[] => (user === undefined ? [...vault.values()].flat() : (vault.get(user) ?? []));
  const redactor = valuesRedactor(valuesOf);
  const guess = (user: string) => ({ type: 'text', user, text: 'is it 1234-alice-pin? bob-token-xyz' });

  assert.equal(redactEvent(guess('bob'), [redactor]).text, 'is it 1234-alice-pin? [REDACTED]', "bob's text does not reveal which guess is alice's secret");
  assert.equal(redactEvent(guess('alice'), [redactor]).text, 'is it [REDACTED]? bob-token-xyz');
  assert.equal(redactEvent(guess('carol'), [redactor]).text, 'is it 1234-alice-pin? bob-token-xyz', 'a user without secrets gets text as it is');
  assert.equal(redactEvent({ type: 'text', text: 'is it 1234-alice-pin? bob-token-xyz' }, [redactor]).text, 'is it [REDACTED]? [REDACTED]', 'no user: every value is hidden');

  vault.set('bob', ['bob-new-token']);
  assert.equal(redactor.redact('bob-new-token', 'bob'), 'bob-new-token', "bob's pattern is cached");
  redactor.invalidate();
  assert.equal(redactor.redact('bob-new-token bob-token-xyz', 'bob'), '[REDACTED] bob-token-xyz', 'invalidate() drops every user\'s pattern');
  assert.equal(redactor.redact('1234-alice-pin', 'alice'), '[REDACTED]');
});

test("tool inputs are masked for the event's user; a value of no user is hidden in everyone's text", () => {
  const seen: Array<string | undefined> = [];
  const masking = {
    redact: (text: string) => text,
    maskToolInput: (_name: string, input: unknown, user: string | undefined) => {
      seen.push(user);
      return input;
    },
  };
  redactEvent({ type: 'tool_use', user: 'alice', name: 'x', input: {} }, [masking]);
  assert.deepEqual(seen, ['alice']);

  const botToken = valuesRedactor(() => ['123:bot-token']);
  for (const user of ['alice', 'bob', undefined]) assert.equal(botToken.redact('token 123:bot-token', user), 'token [REDACTED]');
});

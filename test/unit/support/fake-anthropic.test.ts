import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from '../../support/fake-anthropic.ts';

test('the stand-in reads answers and modifiers from the prompt', () => {
  const steps = parseScript('hello\n@wait 50\n@tool mcp__x__y {"a":1}\n@think hmm\n@reply done\\nnow');
  assert.equal(steps.length, 2);
  assert.deepEqual(steps[0]?.answer, { kind: 'tool', name: 'mcp__x__y', input: { a: 1 } });
  assert.equal(steps[0]?.waitMs, 50);
  assert.deepEqual(steps[1]?.answer, { kind: 'reply', text: 'done\nnow' });
  assert.equal(steps[1]?.thinking, 'hmm');
  assert.equal(steps[1]?.waitMs, 0);
});

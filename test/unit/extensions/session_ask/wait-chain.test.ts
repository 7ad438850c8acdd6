import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitChain } from '../../../../extensions/session_ask/wait-chain.ts';

const edges = (...pairs: Array<[string, string]>): Map<string, string[]> => {
  const map = new Map<string, string[]>();
  for (const [from, to] of pairs) map.set(from, [...(map.get(from) ?? []), to]);
  return map;
};

test('a chain of waits from start to goal, shortest first; none when start does not wait on goal', () => {
  assert.deepEqual(waitChain(edges(['b', 'a']), 'b', 'a'), ['b', 'a']);
  assert.deepEqual(waitChain(edges(['b', 'c'], ['c', 'd'], ['d', 'a'], ['b', 'a']), 'b', 'a'), ['b', 'a']);
  assert.deepEqual(waitChain(edges(['b', 'c'], ['c', 'd'], ['d', 'a']), 'b', 'a'), ['b', 'c', 'd', 'a']);
  assert.deepEqual(waitChain(edges(), 'a', 'a'), ['a']);
  assert.equal(waitChain(edges(['a', 'b'], ['c', 'a']), 'b', 'a'), undefined);
  assert.equal(waitChain(edges(['b', 'c'], ['c', 'b']), 'b', 'a'), undefined, 'a cycle elsewhere ends the search');
});

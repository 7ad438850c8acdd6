import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Waiters } from '../../../../core/util/waiters.ts';

test('settle ends every wait on its key, and only those', async () => {
  const waiters = new Waiters<string>();
  const a1 = waiters.wait('a', undefined, 'aborted');
  const a2 = waiters.wait('a', undefined, 'aborted');
  let bDone = false;
  void waiters.wait('b', undefined, 'aborted').then(() => (bDone = true));
  assert.equal(waiters.count('a'), 2);
  waiters.settle('a', 'answered');
  assert.deepEqual(await Promise.all([a1, a2]), ['answered', 'answered']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(bDone, false);
  assert.equal(waiters.count('a'), 0);
  assert.equal(waiters.count('b'), 1);
});

test('an abort ends that wait alone; the others still get the outcome', async () => {
  const waiters = new Waiters<string>();
  const controller = new AbortController();
  const aborted = waiters.wait('q', controller.signal, 'cancelled');
  const other = waiters.wait('q', undefined, 'cancelled');
  controller.abort();
  assert.equal(await aborted, 'cancelled');
  assert.equal(waiters.count('q'), 1);
  waiters.settle('q', 'answered');
  assert.equal(await other, 'answered');
});

test('a signal aborted before the wait ends it at once without registering', async () => {
  const waiters = new Waiters<string>();
  const controller = new AbortController();
  controller.abort();
  assert.equal(await waiters.wait('q', controller.signal, 'cancelled'), 'cancelled');
  assert.equal(waiters.count('q'), 0);
});

test('settleAll gives each key its own outcome', async () => {
  const waiters = new Waiters<string>();
  const x = waiters.wait('x', undefined, '');
  const y = waiters.wait('y', undefined, '');
  waiters.settleAll((key) => `stopped ${key}`);
  assert.deepEqual(await Promise.all([x, y]), ['stopped x', 'stopped y']);
  assert.equal(waiters.count('x') + waiters.count('y'), 0);
});

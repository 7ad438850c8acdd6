import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { EngineEvent } from '../../../../core/extension-host/extension-api.ts';
import { EventStore } from '../../../../extensions/web/event-store.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
const freshDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-events-'));
  dirs.push(dir);
  return dir;
};

describe('EventStore', () => {
  const event = (sessionId: string, text: string): EngineEvent => ({ type: 'text', text, partial: true, sessionId, user: 'alice', promptId: 'p' });
  const texts = (events: { event: EngineEvent }[]): string[] => events.map((e) => (e.event as { text: string }).text);

  test('numbers events in one rising sequence, replays those after an id, and says when some were dropped', () => {
    const store = new EventStore(freshDir(), 10, 100);
    const seen: string[] = [];
    const unsubscribe = store.subscribe('a', (e) => seen.push(e ? (e.event as { text: string }).text : 'forgotten'));
    const ids = Array.from({ length: 11 }, (_, i) => store.add(event('a', String(i + 1))).id);
    store.add(event('b', 'other'));
    unsubscribe();
    store.add(event('a', '12'));
    assert.deepEqual(seen, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    assert.deepEqual(ids, [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111]);
    assert.deepEqual(texts(store.since('a', undefined)), ['3', '4', '5', '6', '7', '8', '9', '10', '11', '12'], 'over 10 + 10%, the oldest are dropped down to 10');
    assert.deepEqual(texts(store.since('a', 109)), ['10', '11', '12']);
    assert.equal(store.missed('a', 101), true, 'event 102 was dropped');
    assert.equal(store.missed('a', 102), false);
    assert.equal(store.missed('b', 0), false);
    assert.deepEqual(store.sessionIds().sort(), ['a', 'b']);
    const ended: string[] = [];
    store.subscribe('b', (e) => ended.push(e ? 'event' : 'forgotten'));
    store.forget('a');
    store.forget('b');
    assert.deepEqual(ended, ['forgotten'], 'a follower learns that its session is gone');
    assert.deepEqual(store.since('a', undefined), []);
    assert.equal(store.missed('a', 0), false);
    store.close();
  });

  test('events, what was dropped and the sequence outlive the store: ids keep rising after a reopen, also past deleted ones', () => {
    const dir = freshDir();
    const first = new EventStore(dir, 3, 5000);
    for (const text of ['1', '2', '3', '4', '5']) first.add(event('a', text));
    first.add(event('gone', 'x'));
    first.forget('gone');
    first.close();

    const second = new EventStore(dir, 3, 1);
    assert.deepEqual(texts(second.since('a', undefined)), ['3', '4', '5']);
    assert.deepEqual(texts(second.since('a', 5003)), ['4', '5']);
    assert.equal(second.missed('a', 5001), true, 'event 5002 was dropped before the reopen');
    assert.equal(second.missed('a', 5002), false);
    assert.deepEqual(second.sessionIds(), ['a']);
    const next = second.add(event('a', '6'));
    assert.equal(next.id, 5007, 'the id after the forgotten session\'s 5006, not a reused one, and not the new start');
    assert.deepEqual(texts(second.since('a', 5005)), ['6']);
    second.close();
  });
  test("finds an approval's kept request event by its id in its session, the newest if announced again", () => {
    const store = new EventStore(freshDir(), 10);
    const requested = (sessionId: string, id: string, summary: string): EngineEvent => ({
      type: 'approval_requested', id, tool: 'Bash', input: { command: summary }, summary, suggestedPattern: 'Bash(ls:*)', sessionPattern: `Bash(${summary})`,
      requestedAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T00:10:00Z', sessionId, user: 'alice', promptId: 'p',
    });
    store.add(requested('a', 'ap_1', 'first'));
    store.add(event('a', 'between'));
    store.add(requested('a', 'ap_1', 'again'));
    store.add(requested('b', 'ap_2', 'other'));
    assert.equal(store.approvalRequest('a', 'ap_1')?.summary, 'again');
    assert.equal(store.approvalRequest('a', 'ap_2'), undefined, 'another session\'s approval is not found');
    assert.equal(store.approvalRequest('b', 'ap_2')?.summary, 'other');
    store.close();
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EngineEvent } from '../../../../core/extension-host/extension-api.ts';
import { EventBuffer } from '../../../../extensions/web/event-buffer.ts';

describe('EventBuffer', () => {
  const event = (sessionId: string, text: string): EngineEvent => ({ type: 'text', text, partial: true, sessionId, user: 'alice', promptId: 'p' });

  test('numbers events in one rising sequence, replays those after an id, and says when some were dropped', () => {
    const buffer = new EventBuffer(3, 100);
    const seen: string[] = [];
    const unsubscribe = buffer.subscribe('a', (e) => seen.push(e ? (e.event as { text: string }).text : 'forgotten'));
    const ids = ['1', '2', '3', '4'].map((t) => buffer.add(event('a', t)).id);
    buffer.add(event('b', 'other'));
    unsubscribe();
    buffer.add(event('a', '5'));
    assert.deepEqual(seen, ['1', '2', '3', '4']);
    assert.deepEqual(ids, [101, 102, 103, 104]);
    assert.deepEqual(buffer.since('a', 102).map((e) => (e.event as { text: string }).text), ['3', '4', '5']);
    assert.equal(buffer.missed('a', 100), true, 'event 101 was dropped');
    assert.equal(buffer.missed('a', 102), false);
    assert.deepEqual(buffer.sessionIds().sort(), ['a', 'b']);
    const ended: string[] = [];
    buffer.subscribe('b', (e) => ended.push(e ? 'event' : 'forgotten'));
    buffer.forget('a');
    buffer.forget('b');
    assert.deepEqual(ended, ['forgotten'], 'a follower learns that its session is gone');
    assert.deepEqual(buffer.since('a', undefined), []);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { WebSocket } from 'ws';
import type { EngineEvent } from '../../../../core/extension-host/extension-api.ts';
import { UnreadAllowance } from '../../../../extensions/web/event-follow.ts';
import { EventStore } from '../../../../extensions/web/event-store.ts';
import { socketEvents } from '../../../../extensions/web/websocket.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-ws-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const event = (text: string): EngineEvent => ({ type: 'text', text, partial: true, sessionId: 'a', user: 'alice', promptId: 'p' });

/** A socket that records what is sent and lets the test say how much the client left unread. */
function fakeSocket() {
  const fake = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    sent: [] as Array<{ id?: number; type: string }>,
    closedWith: undefined as number | undefined,
    send(text: string) {
      this.sent.push(JSON.parse(text) as { id?: number; type: string });
    },
    close(code: number) {
      this.closedWith = code;
      this.readyState = 2;
    },
    terminate() {
      this.readyState = 3;
    },
    ping() {},
    on() {},
  };
  return fake;
}

test('a WebSocket follower gets the kept events after its id, then live ones; one that reads too slowly is closed, not buffered for', () => {
  const store = new EventStore(dir, 100, 0);
  for (const text of ['1', '2', '3']) store.add(event(text));
  const socket = fakeSocket();
  socketEvents(socket as unknown as WebSocket, store, 'a', 1, new UnreadAllowance(1000));
  assert.deepEqual(socket.sent.map((m) => m.id), [2, 3], 'the replay after id 1');

  socket.bufferedAmount = 1100; // over 1000, but the replay's bytes (two messages of over 100 bytes) count on top
  store.add(event('4'));
  assert.equal(socket.closedWith, undefined);
  assert.deepEqual(socket.sent.map((m) => m.id), [2, 3, 4]);

  socket.bufferedAmount = 5000;
  store.add(event('5'));
  assert.equal(socket.closedWith, 1013, 'too slow: closed with "try again later"');
  store.add(event('6'));
  assert.deepEqual(socket.sent.map((m) => m.id), [2, 3, 4, 5], 'nothing more is queued for it');

  const gone = fakeSocket();
  socketEvents(gone as unknown as WebSocket, store, 'a', 6);
  store.forget('a');
  assert.deepEqual(gone.sent, [{ type: 'deleted', sessionId: 'a' }]);
  assert.equal(gone.closedWith, 1000);
  store.close();
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { EventLog } from '../../../../core/sessions/event-log.ts';

test('a record keeps its own time and type whatever its fields say', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-log-'));
  const log = new EventLog({ file: path.join(dir, 'events.jsonl'), maxBytes: 1e6, keep: 1 });
  log.record('note', { ts: '1999-01-01T00:00:00.000Z', type: 'result', cost_usd: 1 });
  log.close();
  const [record] = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(record?.type, 'note');
  assert.notEqual(record?.ts, '1999-01-01T00:00:00.000Z');
  assert.equal(record?.cost_usd, 1);
  fs.rmSync(dir, { recursive: true, force: true });
});

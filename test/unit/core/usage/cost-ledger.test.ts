import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { EventLog } from '../../../../core/sessions/event-log.ts';
import { CostLedger } from '../../../../core/usage/cost-ledger.ts';
import { DaemonUsage } from '../../../../core/usage/daemon-usage.ts';
import type { UsageSource } from '../../../../core/usage/usage-types.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-ledger-'));
  dirs.push(dir);
  return dir;
}

const line = (record: Record<string, unknown>): string => `${JSON.stringify(record)}\n`;
const noSource: UsageSource = { name: 'none', read: () => Promise.reject(new Error('not in this test')) };

describe('CostLedger', () => {
  test('per UTC day and user, newest day first; each session today and in total', () => {
    const ledger = new CostLedger();
    ledger.take({ ts: '2026-11-30T23:59:00.000Z', type: 'result', session: 's1', user: 'ann', cost_usd: 0.5 });
    ledger.take({ ts: '2026-12-01T00:01:00.000Z', type: 'result', session: 's1', user: 'ann', cost_usd: 0.25 });
    ledger.take({ ts: '2026-12-01T08:00:00.000Z', type: 'result', session: 's2', user: 'bob', cost_usd: 1 });
    ledger.take({ ts: '2026-12-01T09:00:00.000Z', type: 'result', session: 's2', user: 'bob', cost_usd: 0 });
    ledger.take({ ts: '2026-12-01T09:00:00.000Z', type: 'prompt_started', session: 's2', cost_usd: 9 });
    ledger.take({ ts: '2026-12-01T09:00:00.000Z', type: 'result', session: 's2', user: 'bob', cost_usd: 5, extension: 'someext' });
    const now = Date.parse('2026-12-01T12:00:00.000Z');
    assert.deepEqual(ledger.costs({}, now), [
      { day: '2026-12-01', user: 'ann', costUsd: 0.25, prompts: 1 },
      { day: '2026-12-01', user: 'bob', costUsd: 1, prompts: 2 },
      { day: '2026-11-30', user: 'ann', costUsd: 0.5, prompts: 1 },
    ]);
    assert.deepEqual(ledger.costs({ user: 'ann', days: 1 }, now), [{ day: '2026-12-01', user: 'ann', costUsd: 0.25, prompts: 1 }]);
    assert.deepEqual(ledger.sessionCosts(undefined, now), [
      { sessionId: 's2', today: 1, total: 1 },
      { sessionId: 's1', today: 0.25, total: 0.75 },
    ]);
    assert.deepEqual(ledger.sessionCosts('ann', Date.parse('2026-12-02T00:00:00.000Z')), [{ sessionId: 's1', today: 0, total: 0.75 }]);
  });

  test('a result without a user (an older version) takes its session_created user, else the registry\'s, else "unknown"', () => {
    const ledger = new CostLedger((session) => (session === 'known' ? 'carol' : undefined));
    ledger.take({ ts: '2026-12-01T00:00:00.000Z', type: 'session_created', session: 'old', user: 'dave' });
    ledger.take({ ts: '2026-12-01T01:00:00.000Z', type: 'result', session: 'old', cost_usd: 1 });
    ledger.take({ ts: '2026-12-01T01:00:00.000Z', type: 'result', session: 'known', cost_usd: 2 });
    ledger.take({ ts: '2026-12-01T01:00:00.000Z', type: 'result', session: 'gone', cost_usd: 4 });
    assert.deepEqual(
      ledger.costs({}, Date.parse('2026-12-01T02:00:00.000Z')).map((c) => [c.user, c.costUsd]),
      [['carol', 2], ['dave', 1], ['unknown', 4]],
    );
  });

  test('loads the log and its rotations, oldest first, skipping lines cut by a crash and other records', () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(`${file}.2`, line({ ts: '2026-11-29T10:00:00.000Z', type: 'session_created', session: 'a', user: 'ann' }) + line({ ts: '2026-11-29T10:00:00.000Z', type: 'result', session: 'a', cost_usd: 1 }));
    fs.writeFileSync(`${file}.1`, '{"ts":"2026-11-30T10:00:00.000Z","type":"result","sess\n' + line({ ts: '2026-11-30T10:00:00.000Z', type: 'result', session: 'a', user: 'ann', cost_usd: 2 }));
    fs.writeFileSync(file, line({ ts: '2026-12-01T10:00:00.000Z', type: 'daemon_started' }) + line({ ts: '2026-12-01T10:00:00.000Z', type: 'result', session: 'a', user: 'ann', cost_usd: 4 }));
    assert.deepEqual(CostLedger.logFiles(file), [`${file}.2`, `${file}.1`, file]);
    const ledger = new CostLedger();
    ledger.load(CostLedger.logFiles(file));
    assert.deepEqual(
      ledger.costs({}, Date.parse('2026-12-01T12:00:00.000Z')).map((c) => [c.day, c.user, c.costUsd]),
      [['2026-12-01', 'ann', 4], ['2026-11-30', 'ann', 2], ['2026-11-29', 'ann', 1]],
    );
    assert.deepEqual(ledger.sessionCosts('ann', Date.parse('2026-12-01T12:00:00.000Z')), [{ sessionId: 'a', today: 4, total: 7 }]);
  });

  test('the daemon\'s totals: loaded once at start, then kept up to date record by record across rotations, never counted twice', () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.jsonl');
    const before = new EventLog({ file, maxBytes: 300, keep: 3 });
    for (let i = 0; i < 4; i++) before.record('result', { session: 's', user: 'ann', cost_usd: 1 });
    before.close();
    assert.ok(fs.existsSync(`${file}.1`), 'the log rotated');

    const log = new EventLog({ file, maxBytes: 300, keep: 3 });
    const usage = new DaemonUsage({ eventLog: log, source: () => noSource, cacheMs: () => 0, userOf: () => undefined });
    const total = (): number => usage.costs().reduce((sum, c) => sum + c.costUsd, 0);
    assert.equal(total(), 4);
    for (let i = 0; i < 6; i++) log.record('result', { session: 's', user: 'ann', cost_usd: 0.5 });
    log.record('prompt_queued', { session: 's' });
    assert.equal(total(), 7);
    assert.equal(usage.costs()[0]?.prompts, 10);
    assert.deepEqual(usage.sessionCosts('ann').map((s) => s.total), [7]);
    usage.dispose();
    log.record('result', { session: 's', user: 'ann', cost_usd: 100 });
    assert.equal(total(), 7, 'disposed: no longer follows the log');
    log.close();
  });
});

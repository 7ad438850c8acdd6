import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_INSTRUCTIONS, HeartbeatStore, InstructionsError, STATE_FILE } from '../../../../extensions/heartbeat/state-store.ts';
import { addTick, deferFindings, initialState, recordRun, UNTIL_RESUMED_MS } from '../../../../extensions/heartbeat/valves.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heartbeat-store-'));
  dirs.push(dir);
  return path.join(dir, 'heartbeat');
}

const tz = 'Europe/Paris';
const t0 = Date.parse('2025-01-15T12:00:00Z');

describe('HeartbeatStore state', () => {
  test('a missing file starts fresh without a problem', () => {
    const loaded = new HeartbeatStore(dataDir()).load(t0, tz);
    assert.deepEqual(loaded, { state: initialState(t0, tz) });
  });

  test('saves and loads the state, 0600, in a private directory', () => {
    const store = new HeartbeatStore(dataDir());
    let state = recordRun(initialState(t0, tz), { now: t0, costUsd: 0.3, outcome: 'noop' });
    state = deferFindings(state, [{ source: 'command', summary: 'disk full', details: ['/var 98%'] }]);
    state = addTick(state, { at: t0, outcome: 'ran', costUsd: 0.3, findings: 1 });
    state = { ...state, notes: ['n1'], pausedUntil: t0 + 1_000 };
    store.save(state);
    assert.equal(fs.statSync(store.stateFile).mode & 0o777, 0o600);
    assert.equal(fs.statSync(store.dir).mode & 0o777, 0o700);
    assert.deepEqual(new HeartbeatStore(store.dir).load(t0 + 1, tz), { state });
  });

  test('loading on a later local day starts the day afresh', () => {
    const store = new HeartbeatStore(dataDir());
    store.save({ ...initialState(t0, tz), runsToday: 3, costToday: 2 });
    const { state } = store.load(Date.parse('2025-01-15T23:00:00Z'), tz);
    assert.equal(state.day, '2025-01-16');
    assert.equal(state.runsToday, 0);
    assert.equal(state.costToday, 0);
  });

  test('a corrupt file starts fresh, is reported and kept aside', () => {
    const cases = ['{not json', '[]', JSON.stringify({ version: 99, state: {} }), JSON.stringify({ version: 1, state: { day: '2025-01-15', runsToday: -1 } })];
    for (const content of cases) {
      const store = new HeartbeatStore(dataDir());
      fs.writeFileSync(store.stateFile, content);
      const loaded = store.load(t0, tz);
      assert.deepEqual(loaded.state, initialState(t0, tz), content);
      assert.match(loaded.problem ?? '', /could not be used/, content);
      const aside = fs.readdirSync(store.dir).filter((name) => name.startsWith(`${STATE_FILE}.corrupt-`));
      assert.equal(aside.length, 1, content);
      assert.equal(fs.readFileSync(path.join(store.dir, aside[0] ?? ''), 'utf8'), content);
      assert.ok(!fs.existsSync(store.stateFile));
    }
  });

  test('fields missing from an older file take their fresh values', () => {
    const store = new HeartbeatStore(dataDir());
    fs.writeFileSync(store.stateFile, JSON.stringify({ version: 1, state: { day: '2025-01-15', runsToday: 2 } }));
    const loaded = store.load(t0, tz);
    assert.equal(loaded.problem, undefined);
    assert.deepEqual(loaded.state, { ...initialState(t0, tz), runsToday: 2 });
  });

  test('a pause saved beyond the times a Date can hold (before pauses were bounded) reads as a pause until resumed', () => {
    const store = new HeartbeatStore(dataDir());
    const broken = { ...initialState(t0, tz), runsToday: 2, pausedUntil: t0 + 1e12 * 60_000 };
    fs.writeFileSync(store.stateFile, JSON.stringify({ version: 1, state: broken }));
    const loaded = store.load(t0, tz);
    assert.equal(loaded.problem, undefined);
    assert.deepEqual(loaded.state, { ...broken, pausedUntil: t0 + UNTIL_RESUMED_MS });
    assert.equal(new Date(loaded.state.pausedUntil ?? NaN).toISOString(), '2124-12-22T12:00:00.000Z');
  });
});

describe('HeartbeatStore instructions', () => {
  test('default until set, then the saved text, 0600', () => {
    const store = new HeartbeatStore(dataDir());
    assert.deepEqual(store.instructions(), { text: DEFAULT_INSTRUCTIONS, isDefault: true });
    store.setInstructions('Watch the CI and fix flaky tests.');
    assert.deepEqual(store.instructions(), { text: 'Watch the CI and fix flaky tests.\n', isDefault: false });
    assert.equal(fs.statSync(store.instructionsFile).mode & 0o777, 0o600);
  });

  test('refuses empty or oversized instructions', () => {
    const store = new HeartbeatStore(dataDir());
    assert.throws(() => store.setInstructions('  \n'), InstructionsError);
    assert.throws(() => store.setInstructions('x'.repeat(20_001)), InstructionsError);
    assert.equal(store.instructions().isDefault, true);
  });

  test('the default says to check the findings, do small maintenance and report only what is worth telling', () => {
    assert.match(DEFAULT_INSTRUCTIONS, /findings/);
    assert.match(DEFAULT_INSTRUCTIONS, /maintenance/);
    assert.match(DEFAULT_INSTRUCTIONS, /worth telling/);
  });
});

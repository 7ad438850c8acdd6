import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import heartbeatExtension from '../../../../extensions/heartbeat/extension.ts';
import type { PauseResult, StatusView, TickView } from '../../../../extensions/heartbeat/protocol.ts';
import { Heartbeat, type HeartbeatSettings } from '../../../../extensions/heartbeat/heartbeat.ts';
import { HeartbeatStore, INSTRUCTIONS_FILE, STATE_FILE } from '../../../../extensions/heartbeat/state-store.ts';
import { startExtension, type ExtensionFixture, invalidField } from '../extension-fixture.ts';

const MINUTE = 60_000;


describe('heartbeat methods refuse what they cannot save, before saving anything', () => {
  let heartbeat: ExtensionFixture<unknown>;
  const stateFile = (): string => path.join(heartbeat.dataDir, STATE_FILE);
  const saved = (): string | undefined => (fs.existsSync(stateFile()) ? fs.readFileSync(stateFile(), 'utf8') : undefined);
  /** A tick with neither watch nor command: gated out when it works, `error` when the state is broken. */
  const tick = (): Promise<TickView> => heartbeat.call<TickView>('heartbeat.trigger', {});

  before(async () => {
    // No watch, no command: a tick that works is `gated_out` without asking any model.
    heartbeat = await startExtension(heartbeatExtension(), { interval: '1h', timezone: 'UTC' });
    await heartbeat.call('heartbeat.note', { text: 'a note, so that the state is on disk' });
  });
  after(async () => {
    await heartbeat.stop();
  });

  test('pause for 10^12 minutes is refused naming minutes; the state is unchanged and the next tick works', async () => {
    const before = saved();
    assert.ok(before);
    await assert.rejects(heartbeat.call('heartbeat.pause', { minutes: 1e12 }), invalidField('minutes', /at most 527040 \(366 days\)/));
    assert.equal(saved(), before);
    assert.equal((await tick()).outcome, 'gated_out');
    const status = await heartbeat.call<StatusView>('heartbeat.status', {});
    assert.equal(status.pausedUntil, undefined);
  });

  test('minutes must be a whole number above 0', async () => {
    for (const minutes of [0, -5, 1.5]) {
      const before = saved();
      await assert.rejects(heartbeat.call('heartbeat.pause', { minutes }), invalidField('minutes'), String(minutes));
      assert.equal(saved(), before);
    }
  });

  test('until must be a time, in the future, within 366 days, and not given with minutes', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ until: 'next tuesday' }, 'until', /not a time/],
      [{ until: '2001-01-01T00:00:00Z' }, 'until', /2001-01-01T00:00:00\.000Z is in the past/],
      [{ until: new Date(Date.now() + 400 * 24 * 60 * MINUTE).toISOString() }, 'until', /more than 366 days ahead/],
      [{ until: `${'9'.repeat(101)}` }, 'until', /./],
      [{ until: new Date(Date.now() + 60 * MINUTE).toISOString(), minutes: 5 }, 'minutes', /not both/],
    ];
    for (const [params, field, pattern] of cases) {
      const before = saved();
      await assert.rejects(heartbeat.call('heartbeat.pause', params), invalidField(field, pattern), JSON.stringify(params));
      assert.equal(saved(), before);
    }
    assert.equal((await tick()).outcome, 'gated_out');
  });

  test('a valid pause is saved and a tick then ends paused; without a time it lasts until resumed', async () => {
    const started = Date.now();
    const hour = await heartbeat.call<PauseResult>('heartbeat.pause', { minutes: 60 });
    const until = Date.parse(hour.pausedUntil);
    assert.ok(until >= started + 60 * MINUTE && until <= Date.now() + 60 * MINUTE, hour.pausedUntil);
    assert.equal((await tick()).outcome, 'paused');

    const year = await heartbeat.call<PauseResult>('heartbeat.pause', { minutes: 366 * 24 * 60 });
    assert.ok(Date.parse(year.pausedUntil) > Date.now() + 365 * 24 * 60 * MINUTE);
    const forever = await heartbeat.call<PauseResult>('heartbeat.pause', {});
    assert.ok(Date.parse(forever.pausedUntil) > Date.now() + 99 * 365 * 24 * 60 * MINUTE, forever.pausedUntil);
    assert.equal((await tick()).outcome, 'paused');
    await heartbeat.call('heartbeat.resume', {});
    assert.equal((await tick()).outcome, 'gated_out');
  });

  test('a blank or too long note, and blank or too long instructions, are refused naming text; nothing is saved', async () => {
    const before = saved();
    await assert.rejects(heartbeat.call('heartbeat.note', { text: '   ' }), invalidField('text'));
    await assert.rejects(heartbeat.call('heartbeat.note', { text: 'n'.repeat(501) }), invalidField('text'));
    assert.equal(saved(), before);
    await assert.rejects(heartbeat.call('heartbeat.instructions_set', { text: ' \n ' }), invalidField('text', /must not be blank/));
    await assert.rejects(heartbeat.call('heartbeat.instructions_set', { text: 'i'.repeat(20_001) }), invalidField('text'));
    assert.equal(fs.existsSync(path.join(heartbeat.dataDir, INSTRUCTIONS_FILE)), false);
    await assert.rejects(heartbeat.call('heartbeat.log', { n: 201 }), invalidField('n'));
  });
});

describe('Heartbeat.pause', () => {
  test('refuses a time no Date can hold before saving anything', async () => {
    const fixture = await startExtension(heartbeatExtension(), { timezone: 'UTC' });
    try {
      const store = new HeartbeatStore(path.join(fixture.dataDir, 'direct'));
      const valves = { minIntervalMs: 0, maxRunsPerDay: 1, dailyBudgetUsd: 1, timezone: 'UTC', backoffBaseMs: 0, backoffMaxMs: 0 };
      const settings: HeartbeatSettings = { user: 'local', cwd: undefined, watch: [], command: undefined, decisionModel: 'haiku', model: undefined, template: undefined, labels: {}, valves };
      const beat = new Heartbeat(fixture.ctx, store, settings);
      for (const until of [Date.now() + 1e12 * MINUTE, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => beat.pause(until), RangeError, String(until));
      assert.equal(fs.existsSync(store.stateFile), false);
      assert.equal(beat.status().pausedUntil, undefined);
    } finally {
      await fixture.stop();
    }
  });
});

describe('heartbeat configuration', () => {
  const parse = (config: Record<string, unknown>) => heartbeatExtension().configSchema?.safeParse(config);
  test('interval from 1s to 24 days, command_timeout up to 24 days', () => {
    assert.equal(parse({ interval: '30m', command_timeout: '24d' })?.success, true);
    // 25 days would overflow setInterval: it would tick every millisecond.
    for (const config of [{ interval: '25d' }, { interval: 0 }, { interval: '500ms' }, { command_timeout: '25d' }, { command_timeout: 0 }]) {
      const result = parse(config);
      assert.equal(result?.success, false, JSON.stringify(config));
      assert.match(result?.error?.issues[0]?.message ?? '', /the longest a timer can wait/);
    }
  });

  test('user is a user id the daemon takes: every run of another would fail', () => {
    assert.equal(parse({ user: 'tg:123456789' })?.success, true);
    for (const user of ['', 'a\nb', 'u'.repeat(129)]) assert.equal(parse({ user })?.success, false, JSON.stringify(user));
  });
});

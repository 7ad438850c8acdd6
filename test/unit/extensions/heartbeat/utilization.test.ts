import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import heartbeatExtension from '../../../../extensions/heartbeat/extension.ts';
import type { StatusView, TickView } from '../../../../extensions/heartbeat/protocol.ts';
import { fakeUsage } from '../../../support/fake-usage.ts';
import { startExtension, type ExtensionFixture } from '../extension-fixture.ts';

/**
 * A tick whose gate is open (the command always reports something): held by the utilisation valve
 * before any session, or let through to the decision, which needs a session (this context has none,
 * so a tick that goes on ends as an error naming sessions.create).
 */
describe('a heartbeat tick and the utilisation valve', () => {
  const usage = fakeUsage();
  const started: ExtensionFixture<unknown>[] = [];
  const start = async (config: Record<string, unknown> = {}): Promise<ExtensionFixture<unknown>> => {
    const fixture = await startExtension(heartbeatExtension(), { interval: '1h', timezone: 'UTC', command: 'echo the disk is almost full', ...config }, { usage });
    started.push(fixture);
    return fixture;
  };
  after(async () => {
    for (const fixture of started) await fixture.stop();
  });
  const wentOn = (tick: TickView): void => {
    assert.equal(tick.outcome, 'error', JSON.stringify(tick));
    assert.match(tick.reason ?? '', /sessions\.create/);
  };

  test('above max_utilization (default 80%) the tick stops before the decision, keeps its finding, and the status says why', async () => {
    const heartbeat = await start();
    usage.set({ auth: 'subscription', subscriptionType: 'pro', fiveHour: { utilization: 93, resetsAt: '2099-01-01T00:00:00.000Z' } });
    const tick = await heartbeat.call<TickView>('heartbeat.trigger', {});
    assert.equal(tick.outcome, 'valve');
    assert.equal(tick.valve, 'max_utilization');
    assert.equal(tick.reason, 'no decision: 5-hour utilisation 93% is above max_utilization 80%; the window resets at 2099-01-01T00:00:00.000Z');
    const status = await heartbeat.call<StatusView & { deferredFindings: unknown[] }>('heartbeat.status', {});
    assert.equal(status.maxUtilization, 80);
    assert.match(status.utilization ?? '', /93% is above max_utilization 80%/);
    assert.equal(status.deferredFindings.length, 1);
  });

  test('below it, or with an API key, or without a reading, the tick goes on and its record says what the valve saw', async () => {
    const heartbeat = await start({ max_utilization: 50 });
    const cases: Array<[Parameters<typeof usage.set>[0], RegExp]> = [
      [{ auth: 'subscription', fiveHour: { utilization: 50 } }, /^5-hour utilisation 50% \(max_utilization 50%\)$/],
      [{ auth: 'api_key' }, /^API key: no subscription limits, not held$/],
      [{ auth: 'subscription', error: 'could not read usage from test: broken' }, /^utilisation unknown, not held/],
    ];
    for (const [reading] of cases) {
      usage.set(reading);
      wentOn(await heartbeat.call<TickView>('heartbeat.trigger', {}));
    }
    const log = await heartbeat.call<TickView[]>('heartbeat.log', { n: 3 });
    for (const [index, [, note]] of cases.entries()) assert.match(log[index]?.utilization ?? '', note);
  });

  test('max_utilization: false switches the valve off: no reading is asked for', async () => {
    const heartbeat = await start({ max_utilization: false });
    usage.set({ auth: 'subscription', fiveHour: { utilization: 100 } });
    const readsBefore = usage.reads;
    const tick = await heartbeat.call<TickView>('heartbeat.trigger', {});
    wentOn(tick);
    assert.equal(tick.utilization, undefined);
    assert.equal(usage.reads, readsBefore);
    assert.equal((await heartbeat.call<StatusView>('heartbeat.status', {})).maxUtilization, null);
  });
});

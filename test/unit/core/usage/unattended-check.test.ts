import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unguardedUnattended } from '../../../../core/usage/unattended-check.ts';

describe('unattended features without a utilisation valve', () => {
  test('the heartbeat has the valve unless max_utilization is switched off', () => {
    assert.deepEqual(unguardedUnattended({ enabled: ['heartbeat'], extensions: {} }), []);
    assert.deepEqual(unguardedUnattended({ enabled: ['heartbeat'], extensions: { heartbeat: { max_utilization: 90 } } }), []);
    assert.deepEqual(unguardedUnattended({ enabled: ['heartbeat'], extensions: { heartbeat: { max_utilization: null } } }), ['heartbeat runs with max_utilization off']);
    assert.deepEqual(unguardedUnattended({ enabled: ['heartbeat'], extensions: { heartbeat: { max_utilization: false } } }), ['heartbeat runs with max_utilization off']);
    assert.deepEqual(unguardedUnattended({ enabled: [], extensions: { heartbeat: { max_utilization: false } } }), [], 'not enabled: nothing runs');
  });

  test('cron needs its default, which also covers jobs from the terminal and sessions; config jobs without one are named', () => {
    assert.deepEqual(unguardedUnattended({ enabled: ['cron'], extensions: { cron: { skip_above_utilization: 80, jobs: [{ name: 'a' }] } } }), []);
    assert.deepEqual(unguardedUnattended({ enabled: ['cron'], extensions: { cron: { jobs: [{ name: 'a', skip_above_utilization: 50 }, { name: 'b' }] } } }), ['cron jobs without skip_above_utilization: b']);
    assert.match(unguardedUnattended({ enabled: ['cron'], extensions: {} })[0] ?? '', /cron has no default skip_above_utilization/);
  });
});

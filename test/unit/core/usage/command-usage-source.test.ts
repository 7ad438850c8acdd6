import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CommandUsageSource } from '../../../../core/usage/command-usage-source.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usage-command-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A command printing `output` (a script run by node, as `usage.command: [node, script]` would). */
function source(output: string, options: { exit?: number; timeoutMs?: number; env?: Record<string, string> } = {}): CommandUsageSource {
  const script = path.join(dir, `s${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(script, `process.stdout.write(${JSON.stringify(output)}.replace('$VAR', process.env.USAGE_TEST_VAR ?? '')); process.exitCode = ${options.exit ?? 0};`);
  return new CommandUsageSource({ argv: [process.execPath, script], env: () => ({ PATH: process.env.PATH ?? '', ...options.env }), cwd: dir, timeoutMs: options.timeoutMs ?? 10_000 });
}

describe('CommandUsageSource', () => {
  test('reads the get_usage shape, with an optional account as initialize gives it, in the environment it is given', async () => {
    const reading = await source('{"subscription_type":"$VAR","rate_limits":{"five_hour":{"utilization":91,"resets_at":"2026-12-01T15:00:00Z"}},"account":{"tokenSource":"claude.ai"}}', { env: { USAGE_TEST_VAR: 'max' } }).read();
    assert.deepEqual(reading, { auth: 'subscription', subscriptionType: 'max', fiveHour: { utilization: 91, resetsAt: '2026-12-01T15:00:00.000Z' } });
    assert.equal((await source('{"rate_limits":null,"account":{"apiKeySource":"ANTHROPIC_API_KEY"}}').read()).auth, 'api_key');
  });

  test('a failing command, output that is not JSON, or a command that does not finish is an error that says what to check', async () => {
    await assert.rejects(source('{}', { exit: 3 }).read(), /could not read usage from usage\.command .*check usage\.command/);
    await assert.rejects(source('not json').read(), /its output is not one JSON object/);
    const slow = new CommandUsageSource({ argv: [process.execPath, '-e', 'setTimeout(() => {}, 10000)'], env: () => ({}), cwd: dir, timeoutMs: 200 });
    await assert.rejects(slow.read(), /did not finish within 200 ms/);
  });
});

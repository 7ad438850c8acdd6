/**
 * heartbeat end to end with the real claude CLI: a closed gate calls no model, a "skip" decision
 * starts no run, a "run" decision runs a session, a valve stops the next run, and a pause stops
 * everything. (Every valve, quiet hours and the daily budget reset are covered on fixed clocks in
 * test/unit/heartbeat-valves.test.ts.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig } from '../support/daemon-process.ts';

interface Tick {
  outcome: string;
  valve?: string;
  reason?: string;
  costUsd?: number;
}

describe('heartbeat', () => {
  let world: TestWorld;
  let config: string;
  let findingsFile: string;
  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const trigger = async (): Promise<Tick> => {
    const run = await cli(['heartbeat', 'trigger', '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Tick;
  };
  const modelCalls = (): number => world.api.requests.filter((r) => r.body?.messages !== undefined).length;
  const structuredCalls = (): number => world.api.requests.filter((r) => (r.body?.tools ?? []).some((t) => t.name === 'StructuredOutput')).length;

  before(async () => {
    world = await createWorld('heartbeat');
    findingsFile = path.join(world.workDir, 'findings.txt');
    config = writeConfig(
      world,
      [
        'enabled: [heartbeat]',
        'extensions:',
        '  heartbeat:',
        '    interval: 1h',
        `    command: cat ${findingsFile}`,
        '    min_interval: 1h',
        '    max_runs_per_day: 1',
        '    daily_budget_usd: 5',
        '',
      ].join('\n'),
    );
    await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('a closed gate makes no model call', async () => {
    const before = modelCalls();
    const tick = await trigger();
    assert.equal(tick.outcome, 'gated_out');
    assert.equal(modelCalls(), before);
  });

  test('a "skip" decision starts no run', async () => {
    fs.writeFileSync(findingsFile, 'the build log grew\n@decide skip only routine noise\n@reply should never run\n');
    const before = modelCalls();
    const tick = await trigger();
    assert.equal(tick.outcome, 'skipped');
    assert.equal(tick.reason, 'only routine noise');
    assert.ok(modelCalls() > before, 'the decision asked the model');
    const runRequests = world.api.requests.slice(before).filter((r) => r.body?.messages && !(r.body.tools ?? []).some((t) => t.name === 'StructuredOutput') && JSON.stringify(r.body.messages).includes('heartbeat run'));
    assert.equal(runRequests.length, 0, 'no run session asked the model');
  });

  test('a "run" decision runs a session; the next run is stopped by a valve; a pause stops everything', async () => {
    fs.writeFileSync(findingsFile, 'disk almost full\n@decide run worth a look\n@reply removed 3 GB of stale caches\n');
    const decisionsBefore = structuredCalls();
    const ran = await trigger();
    assert.equal(ran.outcome, 'ran', JSON.stringify(ran));
    assert.equal(ran.reason, 'success');
    assert.ok((ran.costUsd ?? 0) > 0);
    assert.equal(structuredCalls(), decisionsBefore + 1, 'one decision (structured output) before the run');

    const blocked = await trigger();
    assert.equal(blocked.outcome, 'valve');
    assert.equal(blocked.valve, 'max_runs_per_day');

    assert.equal((await cli(['heartbeat', 'pause', '--minutes', '60'])).code, 0);
    const before = modelCalls();
    assert.equal((await trigger()).outcome, 'paused');
    assert.equal(modelCalls(), before);
    assert.equal((await cli(['heartbeat', 'resume'])).code, 0);

    const ticks = readEventLog(world).filter((e) => e.type === 'heartbeat_tick').map((e) => e.outcome);
    assert.deepEqual(ticks, ['gated_out', 'skipped', 'ran', 'valve', 'paused']);
    const status = JSON.parse((await cli(['heartbeat', 'status', '--json'])).stdout) as { runsToday: number; costToday: number };
    assert.equal(status.runsToday, 1);
    assert.ok(status.costToday > 0);
  });

  test("the agent's own MCP tools: a note for the next run, the log, the status", async () => {
    const ask = async (tool: string, input: object): Promise<string> => {
      const run = await cli(['prompt', '--json', `@tool mcp__heartbeat__${tool} ${JSON.stringify(input)}\n@echo-tool`]);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; result?: { text: string } }).find((e) => e.type === 'result')?.result?.text ?? '';
    };
    assert.match(await ask('heartbeat_note', { text: 'check the disk again tomorrow' }), /check the disk again tomorrow/);
    const status = JSON.parse((await cli(['heartbeat', 'status', '--json'])).stdout) as { notes: string[] };
    assert.ok(status.notes.includes('check the disk again tomorrow'));
    const log = await ask('heartbeat_log', { n: 2 });
    assert.match(log, /"outcome": "paused"/);
    assert.match(await ask('heartbeat_status', {}), /"runsToday": 1/);
  });
});

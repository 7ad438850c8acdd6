/**
 * cron end to end: jobs from config, from the model through MCP and from the terminal fire and run
 * the real claude CLI; a one-shot fires once; fires missed while the daemon was down are caught up
 * by the misfire policy; a user cannot see or touch another user's jobs; a session cannot make a job
 * that fires more often than `min_interval` (the config job here fires every 2 s: config is not
 * limited). (Timezones and DST are covered on a fake clock in test/unit/cron-*.test.ts.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

interface JobJson {
  id: string;
  name: string;
  user: string;
  done: boolean;
  lastStatus: string | null;
  lastCostUsd: number | null;
  recent: Array<{ status: string; scheduledFor: number; detail: string | null; costUsd: number | null }>;
}

describe('cron', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;
  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const jobs = async (user?: string): Promise<JobJson[]> => JSON.parse((await cli(['cron', 'list', '--json', ...(user ? ['--user', user] : [])])).stdout) as JobJson[];
  const resultsOf = (jobId: string) => readEventLog(world).filter((e) => e.type === 'cron_result' && e.job === jobId);
  const prompt = async (user: string, text: string): Promise<string> => {
    const run = await cli(['prompt', '--user', user, '--json', text]);
    assert.equal(run.code, 0, run.stderr);
    const result = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; result?: { text: string } })
      .find((e) => e.type === 'result');
    return result?.result?.text ?? '';
  };

  before(async () => {
    world = await createWorld('cron');
    config = writeConfig(
      world,
      ['enabled: [cron]', 'extensions:', '  cron:', '    timezone: UTC', '    jobs:', '      - name: heartbeat-of-config', '        schedule: "*/2 * * * * *"', '        prompt: "@reply config job ran"', ''].join('\n'),
    );
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('a job from config fires on its schedule and its result is recorded with its cost', async () => {
    const job = (await jobs('local')).find((j) => j.name === 'heartbeat-of-config');
    assert.ok(job, 'the config job exists');
    await waitFor('the config job to run', () => resultsOf(job.id).some((e) => e.status === 'success'), 30_000);
    const listed = (await jobs('local')).find((j) => j.id === job.id);
    const done = listed?.recent.find((r) => r.status === 'success');
    assert.ok(done, JSON.stringify(listed?.recent));
    assert.ok((done.costUsd ?? 0) > 0, 'the run is recorded with its cost');
    const fired = readEventLog(world).find((e) => e.type === 'cron_fired' && e.job === job.id);
    const lag = Date.parse(String(fired?.ts)) - Date.parse(String(fired?.scheduled_for));
    assert.ok(lag >= 0 && lag < 1000, `fired ${lag} ms after its time`);
    // Stop it so it does not compete with the other tests.
    writeConfig(world, 'enabled: [cron]\n');
    assert.equal((await cli(['reload'])).code, 0);
    assert.equal((await jobs('local')).some((j) => j.name === 'heartbeat-of-config'), false, 'a job removed from config is deleted');
  });

  test('the model creates a one-shot job through MCP; it fires once; other users cannot see or delete it', async () => {
    const created = await prompt('alice', `@tool mcp__cron__cron_create ${JSON.stringify({ name: 'remind', prompt: '@reply reminder from the model', run_at: '+2s' })}\n@echo-tool`);
    const id = (JSON.parse(created) as { id: string }).id;
    await waitFor('the one-shot to run', () => resultsOf(id).length > 0, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(resultsOf(id).length, 1, 'it fired exactly once');
    const mine = (await jobs('alice')).find((j) => j.id === id);
    assert.equal(mine?.done, true);
    assert.equal(mine?.lastStatus, 'success');

    const bobSees = await prompt('bob', '@tool mcp__cron__cron_list {}\n@echo-tool');
    assert.ok(!bobSees.includes(id), 'bob does not see alice\'s job');
    const bobDeletes = await prompt('bob', `@tool mcp__cron__cron_delete ${JSON.stringify({ id })}\n@echo-tool`);
    assert.match(bobDeletes, /no cron job .* of bob/);
    assert.ok((await jobs('alice')).some((j) => j.id === id), 'the job is still there');
    const invalid = await prompt('bob', `@tool mcp__cron__cron_create ${JSON.stringify({ name: 'bad', prompt: 'x', schedule: '61 * * * *' })}\n@echo-tool`);
    assert.match(invalid, /schedule "61 \* \* \* \*": /);
  });

  test('the model cannot make a job that fires every second: the tool answers with the minimum, and no job is made', async () => {
    const refused = await prompt('erin', `@tool mcp__cron__cron_create ${JSON.stringify({ name: 'every-second', prompt: '@reply too often', schedule: '* * * * * *' })}\n@echo-tool`);
    assert.match(refused, /schedule "\* \* \* \* \* \*" fires 1s apart .*a job made by a session may fire at most once every 1m \(cron\.min_interval\)/);
    assert.deepEqual(await jobs('erin'), []);
  });

  test('the model pauses and resumes its job; run-now from the terminal runs it at once', async () => {
    const created = JSON.parse(await prompt('dora', `@tool mcp__cron__cron_create ${JSON.stringify({ name: 'yearly', prompt: '@reply ran on demand', schedule: '0 0 1 1 *' })}\n@echo-tool`)) as { id: string };
    assert.match(await prompt('dora', `@tool mcp__cron__cron_pause ${JSON.stringify({ id: created.id })}\n@echo-tool`), /"paused": true/);
    assert.equal((await jobs('dora')).find((j) => j.id === created.id)?.recent.length, 0);
    assert.match(await prompt('dora', `@tool mcp__cron__cron_resume ${JSON.stringify({ id: created.id })}\n@echo-tool`), /"paused": false/);
    const started = await cli(['cron', 'run-now', created.id]);
    assert.equal(started.code, 0, started.stderr);
    await waitFor('the on-demand run', () => resultsOf(created.id).some((e) => e.status === 'success'), 30_000);
  });

  test('fires missed while the daemon was down run once after the restart (misfire: once)', async () => {
    // Two fires a few seconds ahead, both to be missed while the daemon is down. On a loaded machine
    // `cron add` alone can take longer than that: then the fires have passed before the job exists,
    // and the attempt is made again with new times.
    let first = new Date();
    let second = new Date();
    let id = '';
    for (let attempt = 1; ; attempt += 1) {
      const seconds = new Date().getUTCSeconds();
      if (seconds > 36) await new Promise((resolve) => setTimeout(resolve, (61 - seconds) * 1000));
      const now = Date.now();
      first = new Date(now + 16_000);
      second = new Date(now + 18_000);
      const schedule = `${first.getUTCSeconds()},${second.getUTCSeconds()} ${first.getUTCMinutes()} ${first.getUTCHours()} * * *`;
      const added = await cli(['cron', 'add', `twice-${attempt}`, '--user', 'carol', '--schedule', schedule, '--tz', 'UTC', '@reply caught up']);
      assert.equal(added.code, 0, added.stderr);
      id = /created (j_\w+)/.exec(added.stdout)?.[1] ?? '';
      if (Date.now() < first.getTime() - 8000) break;
      assert.ok(attempt < 3, 'cron add kept taking longer than the time to the first fire');
      assert.equal((await cli(['cron', 'delete', id])).code, 0);
    }
    await daemon.stop();
    assert.ok(Date.now() < first.getTime(), 'the daemon stopped before the first fire');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, second.getTime() + 1500 - Date.now())));
    daemon = await startDaemonProcess(world, ['--config', config]);
    await waitFor('the catch-up run', () => resultsOf(id).length > 0, 30_000).catch((error: Error) => {
      const log = fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8').split('\n').filter((line) => /cron|error|warn/i.test(line)).slice(-20).join('\n');
      const events = readEventLog(world).slice(-15).map((e) => JSON.stringify(e)).join('\n');
      throw new Error(`${error.message} (first fire ${first.toISOString()}, second ${second.toISOString()}, now ${new Date().toISOString()})\nlog:\n${log}\nevents:\n${events}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const job = (await jobs('carol')).find((j) => j.id === id);
    const statuses = (job?.recent ?? []).map((r) => r.status).sort();
    assert.deepEqual(statuses, ['skipped', 'success'], JSON.stringify(job?.recent));
    const ran = job?.recent.find((r) => r.status === 'success');
    assert.equal(ran?.scheduledFor, second.getTime() - (second.getTime() % 1000), 'the latest missed fire is the one that ran');
    assert.equal(readEventLog(world).filter((e) => e.type === 'cron_missed' && e.job === id).length, 1, 'the missed fire is logged');
  });
});

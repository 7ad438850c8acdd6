/**
 * Usage awareness end to end, with the real claude CLI and the real daemon: the CLI itself as the
 * usage source (an API key: no subscription limits; costs from real turns per user and day), then a
 * stand-in `usage.command` reporting a subscription whose numbers the test changes, which the
 * heartbeat's valve, a cron job, Telegram's /status and the doctor act on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';
import { closeTelegramWorld, startPollingDaemon } from '../support/telegram-daemon.ts';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.ts';

interface UsageAnswer {
  usage: { auth: string; subscriptionType?: string; fiveHour?: { utilization: number; resetsAt?: string }; sevenDay?: { utilization: number; resetsAt?: string }; checkedAt: string; error?: string };
  costs: Array<{ day: string; user: string; costUsd: number; prompts: number }>;
  sessions: Array<{ sessionId: string; today: number; total: number }>;
}

const today = (): string => new Date().toISOString().slice(0, 10);

describe('usage: the claude CLI as the source, with an API key', () => {
  let world: TestWorld;
  let config: string;
  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const usage = async (): Promise<UsageAnswer> => {
    const run = await cli(['usage', '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as UsageAnswer;
  };

  before(async () => {
    world = await createWorld('usage-cli');
    config = writeConfig(world);
    await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('the account is an API key, and the costs of real turns are counted per user and day, also after a restart', async () => {
    for (const [user, text] of [['ann', '@reply one'], ['ann', '@reply two'], ['bob', '@reply three']] as const) {
      const run = await cli(['prompt', '--user', user, text]);
      assert.equal(run.code, 0, run.stderr);
    }
    const answer = await usage();
    assert.equal(answer.usage.auth, 'api_key', JSON.stringify(answer.usage));
    assert.equal(answer.usage.error, undefined);
    assert.equal(answer.usage.fiveHour, undefined);

    const results = readEventLog(world).filter((e) => e.type === 'result');
    assert.deepEqual(results.map((r) => r.user), ['ann', 'ann', 'bob'], 'each result names its user');
    const spent = (user: string): number => results.filter((r) => r.user === user).reduce((sum, r) => sum + (r.cost_usd as number), 0);
    assert.ok(spent('ann') > 0);
    const byUser = Object.fromEntries(answer.costs.map((c) => [c.user, c]));
    assert.deepEqual(Object.keys(byUser).sort(), ['ann', 'bob']);
    assert.equal(byUser.ann?.day, today());
    assert.equal(byUser.ann?.prompts, 2);
    assert.ok(Math.abs((byUser.ann?.costUsd ?? 0) - spent('ann')) < 1e-9);
    assert.ok(Math.abs((byUser.bob?.costUsd ?? 0) - spent('bob')) < 1e-9);
    assert.equal(answer.sessions.length, 2);

    const human = await cli(['usage']);
    assert.match(human.stdout, /^account: API key \(no subscription limits\)$/m);
    assert.match(human.stdout, new RegExp(`^  ${today()}  ann +\\$\\d+\\.\\d+  2$`, 'm'));
    assert.doesNotMatch(human.stdout, /5-hour/);

    await stopStartedDaemons();
    await startDaemonProcess(world, ['--config', config]);
    assert.deepEqual((await usage()).costs, answer.costs, 'loaded again from the event log');
  });
});

describe('usage: a stand-in usage.command reporting a subscription', () => {
  const TOKEN = '123456789:AAFakeTokenForTheUsageTests_0123456789';
  const ALICE = { id: 4242, first_name: 'Alice', username: 'alice' };
  let world: TestWorld;
  let telegram: FakeTelegram;
  let config: string;
  let usageFile: string;
  let findingsFile: string;
  let daemon: DaemonProcess;
  const cli = (args: string[], file = config) => runCli(world, [...args, '--config', file]);
  const report = (fiveHour: number, extra: Record<string, unknown> = {}): void =>
    fs.writeFileSync(
      usageFile,
      JSON.stringify({
        subscription_type: 'max',
        rate_limits_available: true,
        rate_limits: { five_hour: { utilization: fiveHour, resets_at: '2099-01-01T05:00:00+00:00' }, seven_day: { utilization: 12, resets_at: '2099-01-05T00:00:00Z' } },
        account: { tokenSource: 'claude.ai', apiKeySource: 'none', apiProvider: 'firstParty' },
        ...extra,
      }),
    );
  const modelCalls = (): number => world.api.requests.filter((r) => r.body?.messages !== undefined).length;
  const trigger = async (): Promise<{ outcome: string; valve?: string; reason?: string; utilization?: string }> => {
    const run = await cli(['heartbeat', 'trigger', '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as { outcome: string; valve?: string; reason?: string; utilization?: string };
  };

  before(async () => {
    world = await createWorld('usage-command');
    telegram = await startFakeTelegram({ token: TOKEN });
    usageFile = path.join(world.root, 'usage.json');
    findingsFile = path.join(world.workDir, 'findings.txt');
    const standIn = path.join(world.root, 'usage-stand-in.mjs');
    fs.writeFileSync(standIn, "import fs from 'node:fs';\nprocess.stdout.write(fs.readFileSync(process.argv[2], 'utf8'));\n");
    report(85);
    config = writeConfig(
      world,
      [
        'usage:',
        `  command: [${process.execPath}, ${standIn}, ${usageFile}]`,
        '  cache: 0s',
        'enabled: [heartbeat, cron, telegram]',
        'extensions:',
        '  heartbeat:',
        '    interval: 1h',
        `    command: cat ${findingsFile}`,
        '    min_interval: 0s',
        '    max_runs_per_day: 10',
        '    daily_budget_usd: 5',
        '    max_utilization: 70',
        '  cron:',
        '    skip_above_utilization: 60',
        '  telegram:',
        `    token: ${TOKEN}`,
        `    allowed_users: [${ALICE.id}]`,
        `    api_root: ${telegram.apiRoot}`,
        '',
      ].join('\n'),
    );
    daemon = await startPollingDaemon(world, config, telegram);
  });
  after(() => closeTelegramWorld(world, telegram));

  test('claude-ext usage shows the subscription, its 5-hour and 7-day utilisation and their resets', async () => {
    const json = await cli(['usage', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as UsageAnswer;
    assert.deepEqual(
      { auth: answer.usage.auth, type: answer.usage.subscriptionType, fiveHour: answer.usage.fiveHour, sevenDay: answer.usage.sevenDay },
      { auth: 'subscription', type: 'max', fiveHour: { utilization: 85, resetsAt: '2099-01-01T05:00:00.000Z' }, sevenDay: { utilization: 12, resetsAt: '2099-01-05T00:00:00.000Z' } },
    );
    const human = await cli(['usage']);
    assert.match(human.stdout, /^account: subscription \(max\)$/m);
    assert.match(human.stdout, /^5-hour: +85% used, resets 2099-01-01 05:00 UTC$/m);
    assert.match(human.stdout, /^7-day: +12% used, resets 2099-01-05 00:00 UTC$/m);
  });

  test('the heartbeat holds above max_utilization without calling a model, and runs once below it', async () => {
    fs.writeFileSync(findingsFile, 'the queue is backing up\n@decide run worth a look\n@reply drained the queue\n');
    report(85);
    const before = modelCalls();
    const held = await trigger();
    assert.equal(held.outcome, 'valve', JSON.stringify(held));
    assert.equal(held.valve, 'max_utilization');
    assert.match(held.reason ?? '', /5-hour utilisation 85% is above max_utilization 70%/);
    assert.equal(modelCalls(), before, 'no decision, no run');
    const status = await cli(['heartbeat', 'status']);
    assert.match(status.stdout, /utilisation valve: holds above 70% \(5-hour\); now: 5-hour utilisation 85% is above/);

    report(40);
    const ran = await trigger();
    assert.equal(ran.outcome, 'ran', JSON.stringify(ran));
    assert.equal(ran.utilization, '5-hour utilisation 40% (max_utilization 70%)');
    assert.ok(modelCalls() > before);
  });

  test('a cron job due while above its threshold is recorded as skipped with the reason, and runs no prompt', async () => {
    report(75);
    const before = modelCalls();
    const added = await cli(['cron', 'add', 'guarded', '--at', '+2s', '@reply should not run']);
    assert.equal(added.code, 0, added.stderr);
    const job = await waitFor(
      'the fire to be skipped',
      async () => {
        const list = JSON.parse((await cli(['cron', 'list', '--json'])).stdout) as Array<{ name: string; lastStatus: string | null; recent?: Array<{ status: string; detail: string | null }> }>;
        const found = list.find((j) => j.name === 'guarded');
        return found?.lastStatus === 'skipped' ? found : undefined;
      },
      30_000,
    );
    assert.equal(job.recent?.[0]?.detail, 'skipped: the 5-hour utilisation is 75%, above skip_above_utilization 60% (the window resets at 2099-01-01T05:00:00.000Z)');
    assert.equal(modelCalls(), before);
    assert.ok(readEventLog(world).some((e) => e.type === 'cron_result' && e.status === 'skipped'));
  });

  test('a job added with cron add --skip-above is judged by its own threshold, not by cron\'s default', async () => {
    report(75);
    const refused = await cli(['cron', 'add', 'wrong', '--skip-above', '150', '--at', '+1h', '@reply never']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--skip-above 150: expected a percentage from 0 to 100/);
    for (const [name, percent, prompt] of [['cautious', '70', '@reply should not run'], ['lenient', '90', '@reply lenient ran']] as const) {
      const added = await cli(['cron', 'add', name, '--skip-above', percent, '--at', '+2s', prompt]);
      assert.equal(added.code, 0, added.stderr);
    }
    const human = await cli(['cron', 'list']);
    assert.match(human.stdout, /cautious \(local\) .*skip above 70%$/m);
    assert.match(human.stdout, /lenient \(local\) .*skip above 90%$/m);
    assert.doesNotMatch(human.stdout, /guarded \(local\) .*skip above/m, 'a job without its own shows none');

    type Listed = { name: string; skipAboveUtilization: number | null; lastStatus: string | null; recent?: Array<{ status: string; detail: string | null }> };
    const settled = await waitFor(
      'both fires to be handled',
      async () => {
        const list = JSON.parse((await cli(['cron', 'list', '--json'])).stdout) as Listed[];
        const cautious = list.find((j) => j.name === 'cautious');
        const lenient = list.find((j) => j.name === 'lenient');
        const done = (status: string | null | undefined): boolean => status === 'skipped' || status === 'success' || status === 'error';
        return cautious && lenient && done(cautious.lastStatus) && done(lenient.lastStatus) ? { cautious, lenient } : undefined;
      },
      60_000,
    );
    assert.equal(settled.cautious.skipAboveUtilization, 70);
    assert.equal(settled.cautious.lastStatus, 'skipped');
    assert.equal(settled.cautious.recent?.[0]?.detail, 'skipped: the 5-hour utilisation is 75%, above skip_above_utilization 70% (the window resets at 2099-01-01T05:00:00.000Z)');
    assert.equal(settled.lenient.skipAboveUtilization, 90);
    assert.equal(settled.lenient.lastStatus, 'success', 'above cron\'s 60% but not above its own 90%, it runs');
    assert.ok(world.api.requests.some((r) => JSON.stringify(r.body?.messages ?? []).includes('lenient ran')), 'its prompt reached the model');
  });

  test("Telegram /status shows the subscription's numbers and today's cost of the chat's user", async () => {
    report(55);
    telegram.injectMessage({ from: ALICE, text: '@reply hello from the chat' });
    await waitFor('the answer', () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /hello from the chat/.test(m.text) && /— \$\d/.test(m.text)), 30_000);
    telegram.injectMessage({ from: ALICE, text: '/status' });
    const status = await waitFor('the status', () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /usage/.test(m.text)), 20_000);
    assert.match(status.text, /usage: subscription \(max\): 5h 55% \(resets 2099-01-01 05:00 UTC\), 7d 12% \(resets 2099-01-05 00:00 UTC\)/);
    const today = /today \(UTC\): \$(\d+\.\d+) over (\d+) prompts?/.exec(status.text);
    assert.ok(today, status.text);
    assert.equal(today[2], '1');
    assert.ok(Number(today[1]) > 0);
    assert.match(status.text, /extensions/, 'what /status showed before is still there');
  });

  test('doctor warns about unattended features without a valve on a subscription, and not with an API key', async () => {
    const unguarded = path.join(world.root, 'unguarded.yaml');
    fs.writeFileSync(
      unguarded,
      fs.readFileSync(config, 'utf8').replace('    max_utilization: 70\n', '    max_utilization: false\n').replace('  cron:\n    skip_above_utilization: 60\n', '  cron:\n    jobs: [{ name: nightly, schedule: "0 3 * * *", prompt: tidy }]\n'),
    );
    report(20);
    const warned = await cli(['doctor'], unguarded);
    assert.match(warned.stdout, /^✓ usage: subscription \(max\): 5h 20%/m);
    assert.match(warned.stdout, /^! unattended use: heartbeat runs with max_utilization off: on a subscription/m);
    assert.match(warned.stdout, /^! unattended use: cron jobs without skip_above_utilization: nightly/m);
    assert.match(warned.stdout, /fix: set extensions\.heartbeat\.max_utilization/);
    const guarded = await cli(['doctor']);
    assert.doesNotMatch(guarded.stdout, /unattended use/);

    fs.writeFileSync(usageFile, JSON.stringify({ subscription_type: null, rate_limits: null, account: { tokenSource: 'none', apiKeySource: 'ANTHROPIC_API_KEY' } }));
    const apiKey = await cli(['doctor'], unguarded);
    assert.match(apiKey.stdout, /^✓ usage: API key \(no subscription limits\)$/m);
    assert.doesNotMatch(apiKey.stdout, /unattended use/);
    assert.ok(daemon.child.exitCode === null, 'the daemon still runs');
  });
});

/**
 * Approvals end to end: sessions in `permission_mode: approve` run the real claude CLI, which asks the
 * daemon (`--permission-prompt-tool stdio`) before a Bash call; the test answers through the CLI and
 * checks what the call did and what the model was told — also across a daemon killed with SIGKILL,
 * a timeout, `stop`, and stored rules.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';
import { closeTelegramWorld, startPollingDaemon } from '../support/telegram-daemon.ts';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.ts';

interface ApprovalJson {
  id: string;
  sessionId: string;
  user: string;
  tool: string;
  summary: string;
  suggestedPattern: string;
  sessionPattern: string;
  status?: string;
  decidedBy?: string;
  reason?: string;
}

interface RuleJson {
  id: string;
  user: string;
  sessionId?: string;
  pattern: string;
}

interface PromptJson {
  result?: { text: string; outcome: string };
}

interface Ids {
  sessionId: string;
  promptId: string;
}

const CONFIG = 'engine:\n  permission_mode: approve\n';

describe('approvals', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;

  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const file = (name: string): string => path.join(world.workDir, name);
  const bash = (command: string): string => `@tool Bash ${JSON.stringify({ command, description: 'a test call' })}\n@echo-tool`;
  const submit = async (user: string, text: string, session?: string): Promise<Ids> => {
    const run = await cli(['prompt', '--user', user, '--detach', ...(session ? ['--session', session] : ['--new']), text]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Ids;
  };
  const approvals = async (all = false): Promise<ApprovalJson[]> => {
    const run = await cli(['approvals', '--json', ...(all ? ['--all'] : [])]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as ApprovalJson[];
  };
  const pendingFor = async (ids: Ids): Promise<ApprovalJson> => {
    try {
      return await waitFor(`an approval for ${ids.sessionId}`, async () => (await approvals()).find((a) => a.sessionId === ids.sessionId), 30_000);
    } catch (error) {
      const events = readEventLog(world).slice(-20).map((e) => JSON.stringify(e)).join('\n');
      throw new Error(`${(error as Error).message}\nevents:\n${events}`);
    }
  };
  const resultOf = async (ids: Ids): Promise<PromptJson> => {
    // `wait` fails for a turn that did not succeed, and still prints it.
    const run = await cli(['wait', '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    assert.ok(run.stdout, run.stderr);
    return JSON.parse(run.stdout) as PromptJson;
  };
  const ok = async (args: string[]): Promise<string> => {
    const run = await cli(args);
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };

  before(async () => {
    world = await createWorld('approvals');
    config = writeConfig(world, `${CONFIG}enabled: [ask_user, cron]\n`);
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('a Bash call waits for an answer; approve runs it', async () => {
    const ids = await submit('alice', bash(`touch ${file('approved')}`));
    const approval = await pendingFor(ids);
    assert.equal(approval.tool, 'Bash');
    assert.equal(approval.user, 'alice');
    assert.match(approval.summary, /^Bash: touch .*approved$/);
    assert.ok(!fs.existsSync(file('approved')), 'nothing ran while the call waits');
    await ok(['approve', approval.id]);
    assert.equal((await resultOf(ids)).result?.outcome, 'success');
    assert.ok(fs.existsSync(file('approved')));
    const late = await cli(['deny', approval.id]);
    assert.notEqual(late.code, 0);
    assert.match(late.stderr, /too late: approval .* was already allowed/);
  });

  test('deny gives the model the message, and the call does not run', async () => {
    const ids = await submit('alice', bash(`touch ${file('denied')}`));
    const approval = await pendingFor(ids);
    await ok(['deny', approval.id, '--message', 'not on a Friday']);
    const result = await resultOf(ids);
    assert.match(result.result?.text ?? '', /not on a Friday/);
    assert.ok(!fs.existsSync(file('denied')));
  });

  test('only the session\'s own user (or the admin) may answer', async () => {
    const ids = await submit('alice', bash(`touch ${file('owned')}`));
    const approval = await pendingFor(ids);
    const foreign = await cli(['approve', approval.id, '--user', 'mallory']);
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /mallory may not answer approval/);
    assert.ok((await approvals()).some((a) => a.id === approval.id), 'still pending after the refusal');
    await ok(['approve', approval.id, '--user', 'alice']);
    assert.equal((await resultOf(ids)).result?.outcome, 'success');
    assert.ok(fs.existsSync(file('owned')));
  });

  test('"allow for this session" answers the next identical call of that session at once', async () => {
    const command = `touch ${file('again')}`;
    const first = await submit('carol', bash(command));
    const approval = await pendingFor(first);
    assert.equal(approval.sessionPattern, `Bash(${command})`);
    const printed = await ok(['approve', approval.id, '--session']);
    assert.ok(printed.includes(`stored the rule Bash(${command})`), printed);
    assert.equal((await resultOf(first)).result?.outcome, 'success');
    fs.rmSync(file('again'));
    const second = await submit('carol', bash(command), first.sessionId);
    assert.equal((await resultOf(second)).result?.outcome, 'success');
    assert.ok(fs.existsSync(file('again')), 'the second call ran without an answer');
    assert.ok(readEventLog(world).some((e) => e.type === 'approval_by_rule' && e.session === first.sessionId));
    const rules = JSON.parse(await ok(['rules', 'list', '--user', 'carol', '--json'])) as RuleJson[];
    assert.equal(rules.length, 1);
    assert.equal(rules[0]?.sessionId, first.sessionId);
    assert.equal(rules[0]?.pattern, `Bash(${command})`, 'the exact command, not its first words');
    const different = await submit('carol', bash(`touch ${file('again-other')}`), first.sessionId);
    await ok(['deny', (await pendingFor(different)).id]);
    await resultOf(different);
    assert.ok(!fs.existsSync(file('again-other')), 'a different command is asked about');
  });

  test('an "always" rule answers the same user\'s other sessions, not another user\'s, until revoked', async () => {
    const first = await submit('dave', bash(`touch ${file('dave-1')}`));
    await ok(['approve', (await pendingFor(first)).id, '--always', 'Bash(touch:*)']);
    assert.equal((await resultOf(first)).result?.outcome, 'success');
    const other = await submit('dave', bash(`touch ${file('dave-2')}`));
    assert.equal((await resultOf(other)).result?.outcome, 'success');
    assert.ok(fs.existsSync(file('dave-2')), 'another session of dave ran it without asking');
    const erin = await submit('erin', bash(`touch ${file('erin-1')}`));
    const erinsApproval = await pendingFor(erin);
    assert.ok(!fs.existsSync(file('erin-1')));
    await ok(['deny', erinsApproval.id]);
    await resultOf(erin);
    const rules = JSON.parse(await ok(['rules', 'list', '--user', 'dave', '--json'])) as RuleJson[];
    const rule = rules.find((r) => r.pattern === 'Bash(touch:*)' && r.sessionId === undefined);
    assert.ok(rule, JSON.stringify(rules));
    await ok(['rules', 'revoke', rule.id]);
    const third = await submit('dave', bash(`touch ${file('dave-3')}`));
    const asked = await pendingFor(third);
    await ok(['deny', asked.id]);
    await resultOf(third);
    assert.ok(!fs.existsSync(file('dave-3')));
  });

  test('read-only tools of the daemon run without asking; one that changes something waits like any call', async () => {
    const ids = await submit('ivan', `@tool mcp__ask_user__ask_user ${JSON.stringify({ question: 'Anyone?', timeout: 1 })}\n@echo-tool`);
    assert.match((await resultOf(ids)).result?.text ?? '', /no answer within 1 s/);
    assert.ok(!(await approvals(true)).some((a) => a.sessionId === ids.sessionId), 'no approval was asked for');
    const job = { name: 'nightly', prompt: 'hello', schedule: '0 3 * * *' };
    const create = await submit('ivan', `@tool mcp__cron__cron_create ${JSON.stringify(job)}\n@echo-tool`, ids.sessionId);
    const asked = await pendingFor(create);
    assert.equal(asked.tool, 'mcp__cron__cron_create');
    await ok(['deny', asked.id, '--message', 'no schedules today']);
    assert.match((await resultOf(create)).result?.text ?? '', /no schedules today/);
    const jobs = await cli(['cron', 'list', '--user', 'ivan', '--json']);
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.deepEqual(JSON.parse(jobs.stdout), []);
  });

  test('stop denies the pending approval', async () => {
    const ids = await submit('frank', bash(`touch ${file('stopped')}`));
    const approval = await pendingFor(ids);
    await ok(['stop', ids.sessionId]);
    assert.equal((await resultOf(ids)).result?.outcome, 'stopped');
    const closed = (await approvals(true)).find((a) => a.id === approval.id);
    assert.equal(closed?.status, 'denied');
    assert.equal(closed?.reason, 'the session was stopped');
    assert.ok(!fs.existsSync(file('stopped')));
  });

  test('a daemon killed while a call waits: the approval is still there, and approving it runs the call', async () => {
    const ids = await submit('gina', bash(`touch ${file('restarted')}`));
    const approval = await pendingFor(ids);
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const again = await pendingFor(ids);
    assert.equal(again.id, approval.id);
    assert.ok(!fs.existsSync(file('restarted')));
    await ok(['approve', approval.id]);
    assert.equal((await resultOf(ids)).result?.outcome, 'success');
    assert.ok(fs.existsSync(file('restarted')));
  });

  test('an approval nobody answers within approvals.timeout is denied with that reason', async () => {
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(CONFIG, `${CONFIG}approvals:\n  timeout: 2s\n`));
    await ok(['reload']);
    const ids = await submit('hank', bash(`touch ${file('late')}`));
    const result = await resultOf(ids);
    assert.match(result.result?.text ?? '', /not answered within 2s/);
    assert.ok(!fs.existsSync(file('late')));
    const closed = (await approvals(true)).find((a) => a.sessionId === ids.sessionId);
    assert.equal(closed?.status, 'denied');
    assert.equal(closed?.decidedBy, 'timeout');
  });
});

describe('approvals in Telegram', () => {
  const TOKEN = '123456789:AAFakeTokenForTheTestsOnly_0123456789';
  const ALICE = { id: 111, first_name: 'Alice', username: 'alice' };
  /** Allowed to use the bot, but not Alice's sessions. */
  const BOB = { id: 222, first_name: 'Bob', username: 'bob' };
  let world: TestWorld;
  let telegram: FakeTelegram;
  let config: string;
  let daemon: DaemonProcess;
  const bashMessage = (target: string): string => `@tool Bash ${JSON.stringify({ command: `touch ${target}`, description: 'x' })}\n@echo-tool`;
  const approvalMessage = (target: string) =>
    waitFor(`the approval message for ${target}`, () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /wants to use Bash/.test(m.text) && m.text.includes(target) && m.replyMarkup !== undefined), 30_000);
  const button = (message: { replyMarkup: unknown }, choice: string): string => new RegExp(`"callback_data":"(ap:[^"]+:${choice})"`).exec(JSON.stringify(message.replyMarkup))?.[1] ?? '';
  const finalAnswer = (pattern: RegExp) => waitFor(`an answer matching ${pattern}`, () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && pattern.test(m.text) && /— \$\d/.test(m.text)), 30_000);

  before(async () => {
    world = await createWorld('approvals-tg');
    telegram = await startFakeTelegram({ token: TOKEN });
    config = writeConfig(
      world,
      `${CONFIG}enabled: [telegram]\nextensions:\n  telegram:\n    token: \${TELEGRAM_BOT_TOKEN}\n    allowed_users: [${ALICE.id}, ${BOB.id}]\n    api_root: ${telegram.apiRoot}\n    batch_window: 200ms\n`,
    );
    world.env.TELEGRAM_BOT_TOKEN = TOKEN;
    daemon = await startPollingDaemon(world, config, telegram);
  });
  after(() => closeTelegramWorld(world, telegram));

  test('the chat shows the call with its buttons; a stranger\'s press is refused, the owner\'s "Allow once" runs it', async () => {
    const target = path.join(world.workDir, 'from-telegram');
    telegram.injectMessage({ from: ALICE, text: `@tool Bash ${JSON.stringify({ command: `touch ${target}`, description: 'x' })}\n@reply done` });
    const asked = await waitFor('the approval message', () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /wants to use Bash/.test(m.text) && m.replyMarkup !== undefined), 30_000);
    assert.match(asked.text, new RegExp(`touch ${target}`));
    const keyboard = JSON.stringify(asked.replyMarkup);
    for (const label of ['Allow once', 'Allow for this session', 'Always allow Bash(touch', 'Deny']) assert.ok(keyboard.includes(label), `${label} in ${keyboard}`);
    assert.match(asked.text, /saves the rule Bash\(/, 'the rule is shown before it is saved');
    const allowOnce = /"callback_data":"(ap:[^"]+:once)"/.exec(keyboard)?.[1] ?? '';

    const strangerQuery = telegram.injectCallbackQuery({ from: BOB, chatId: ALICE.id, messageId: asked.messageId, data: allowOnce });
    const refusal = await telegram.waitForCall((call) => call.method === 'answerCallbackQuery' && JSON.stringify(call.params).includes(strangerQuery));
    assert.match(JSON.stringify(refusal.params), /may not answer/);
    assert.ok(!fs.existsSync(target), 'the stranger\'s press changed nothing');

    const ownerQuery = telegram.injectCallbackQuery({ from: ALICE, messageId: asked.messageId, data: allowOnce });
    const accepted = await telegram.waitForCall((call) => call.method === 'answerCallbackQuery' && JSON.stringify(call.params).includes(ownerQuery));
    assert.match(JSON.stringify(accepted.params), /Allowed once/);
    await waitFor('the answer', () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /done/.test(m.text) && /— \$\d/.test(m.text)), 30_000);
    assert.ok(fs.existsSync(target));
    const edited = await waitFor('the approval message to say who allowed it', () => telegram.messages(ALICE.id).find((m) => m.messageId === asked.messageId && /Allowed by tg:111/.test(m.text)));
    assert.equal(JSON.stringify(edited.replyMarkup ?? {}).includes('callback_data'), false, 'the buttons are gone');
  });

  test('Deny tells the model it was denied; the message says so', async () => {
    const target = path.join(world.workDir, 'denied-in-telegram');
    telegram.injectMessage({ from: ALICE, text: bashMessage(target) });
    const asked = await approvalMessage(target);
    telegram.injectCallbackQuery({ from: ALICE, messageId: asked.messageId, data: button(asked, 'deny') });
    await finalAnswer(/denied by tg:111/);
    assert.ok(!fs.existsSync(target));
    await waitFor('the message to say it was denied', () => telegram.messages(ALICE.id).find((m) => m.messageId === asked.messageId && /Denied by tg:111/.test(m.text)));
  });

  test('a daemon restart while a call waits: the same message stays, and is edited once the call is allowed', async () => {
    const target = path.join(world.workDir, 'after-restart');
    telegram.injectMessage({ from: ALICE, text: bashMessage(target) });
    const asked = await approvalMessage(target);
    // Killed once the extension has written down which message shows the approval (a kill between the
    // send and that write shows it a second time, which is all a crash there can do).
    const botState = path.join(world.stateDir, 'data', 'telegram', 'state.json');
    await waitFor('the message to be remembered', () => fs.existsSync(botState) && fs.readFileSync(botState, 'utf8').includes(`"messageId": ${asked.messageId}`));
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const approvals = await waitFor('the approval after the restart', async () => {
      const run = await runCli(world, ['approvals', '--json', '--config', config]);
      const list = JSON.parse(run.stdout || '[]') as ApprovalJson[];
      return list.length > 0 ? list : undefined;
    });
    assert.equal(approvals.length, 1);
    const pressed = telegram.injectCallbackQuery({ from: ALICE, messageId: asked.messageId, data: button(asked, 'once') });
    const accepted = await telegram.waitForCall((call) => call.method === 'answerCallbackQuery' && JSON.stringify(call.params).includes(pressed), 30_000);
    assert.match(JSON.stringify(accepted.params), /Allowed once/);
    await waitFor('the message to say it was allowed', () => telegram.messages(ALICE.id).find((m) => m.messageId === asked.messageId && /Allowed by tg:111/.test(m.text)), 30_000);
    assert.ok(fs.existsSync(target));
    const shown = telegram.messages(ALICE.id).filter((m) => m.sender === 'bot' && m.text.includes(target) && /wants to use Bash/.test(m.text));
    assert.equal(shown.length, 1, 'the approval was not shown a second time');
  });

  test('"Allow for this session": the next identical call runs at once, a different command is asked about', async () => {
    const target = path.join(world.workDir, 'allowed-for-the-session');
    const other = path.join(world.workDir, 'another-command');
    const finished = (): number => telegram.messages(ALICE.id).filter((m) => m.sender === 'bot' && /— \$\d/.test(m.text)).length;
    const askedFor = (file: string): number => telegram.messages(ALICE.id).filter((m) => m.sender === 'bot' && /wants to use Bash/.test(m.text) && m.text.includes(file)).length;

    let done = finished();
    telegram.injectMessage({ from: ALICE, text: bashMessage(target) });
    const asked = await approvalMessage(target);
    assert.ok(asked.text.includes(`"Allow for this session" saves the rule Bash(touch ${target}) for this session`), asked.text);
    telegram.injectCallbackQuery({ from: ALICE, messageId: asked.messageId, data: button(asked, 'session') });
    await waitFor('the call to run', () => fs.existsSync(target), 30_000);
    await waitFor('the turn to end', () => finished() > done, 30_000);
    await waitFor('the message to say what was saved', () => telegram.messages(ALICE.id).find((m) => m.messageId === asked.messageId && m.text.includes(`allowed for this session: Bash(touch ${target})`)), 30_000);

    fs.rmSync(target);
    done = finished();
    telegram.injectMessage({ from: ALICE, text: bashMessage(target) });
    await waitFor('the identical call to run without asking', () => fs.existsSync(target), 30_000);
    await waitFor('the turn to end', () => finished() > done, 30_000);
    assert.equal(askedFor(target), 1, 'asked once only');

    done = finished();
    telegram.injectMessage({ from: ALICE, text: bashMessage(other) });
    const otherAsked = await approvalMessage(other);
    telegram.injectCallbackQuery({ from: ALICE, messageId: otherAsked.messageId, data: button(otherAsked, 'deny') });
    await waitFor('the turn to end', () => finished() > done, 30_000);
    assert.ok(!fs.existsSync(other), 'a different command was asked about, and denied');
  });
});

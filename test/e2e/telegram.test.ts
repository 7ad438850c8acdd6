/**
 * The Telegram extension end to end: a fake Bot API on 127.0.0.1 (grammY's apiRoot), the real
 * daemon, the real claude CLI against the stand-in model.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';
import { closeTelegramWorld, startPollingDaemon } from '../support/telegram-daemon.ts';
import { startFakeTelegram, type FakeChatMessage, type FakeTelegram } from '../support/fake-telegram.ts';

const TOKEN = '123456789:AAFakeTokenForTheTestsOnly_0123456789';
const ALICE = { id: 111, first_name: 'Alice', username: 'alice' };
const STRANGER = { id: 999, first_name: 'Eve', username: 'eve' };
/** Allowed by username: the account that has the name first gets it. */
const BOB = { id: 222, first_name: 'Bob', username: 'bob' };
/** Another account that later registers the name @bob. */
const IMPOSTOR = { id: 333, first_name: 'Not Bob', username: 'bob' };
/** A group Alice writes in. */
const GROUP = -1001234;

describe('telegram', () => {
  let world: TestWorld;
  let telegram: FakeTelegram;
  let config: string;
  let daemon: DaemonProcess;

  const botMessages = (chat = ALICE.id): FakeChatMessage[] => telegram.messages(chat).filter((m) => m.sender === 'bot');
  /** Waits for a bot message whose text matches, and for its reply to be complete (the footer). */
  const answer = (pattern: RegExp, chat = ALICE.id): Promise<FakeChatMessage> =>
    waitFor(`a bot message matching ${pattern}`, () => botMessages(chat).find((m) => pattern.test(m.text) && /— \$\d/.test(m.text)), 30_000);
  const send = (text: string, extra: { replyToMessageId?: number } = {}) => telegram.injectMessage({ from: ALICE, text, ...extra });
  const sessionsOf = async (user: string): Promise<Array<{ id: string; name: string; lastPrompt?: string }>> =>
    JSON.parse((await runCli(world, ['sessions', '--config', config, '--user', user, '--json'])).stdout) as Array<{ id: string; name: string; lastPrompt?: string }>;

  before(async () => {
    world = await createWorld('telegram');
    telegram = await startFakeTelegram({ token: TOKEN });
    config = writeConfig(
      world,
      [
        'engine:',
        '  partial_messages: true',
        'enabled: [ask_user, vault, telegram]',
        'extensions:',
        '  telegram:',
        '    token: ${TELEGRAM_BOT_TOKEN}',
        `    allowed_users: [${ALICE.id}, "@${BOB.username}"]`,
        `    api_root: ${telegram.apiRoot}`,
        '    batch_window: 300ms',
        '    edit_interval: 200ms',
        '',
      ].join('\n'),
    );
    world.env.TELEGRAM_BOT_TOKEN = TOKEN;
    daemon = await startPollingDaemon(world, config, telegram);
  });
  after(() => closeTelegramWorld(world, telegram));

  test('commands are registered; a message streams back as edits and ends with the footer', async () => {
    const commands = await telegram.waitForCall((call) => call.method === 'setMyCommands');
    assert.ok(JSON.stringify(commands.params).includes('switch'));
    send('@chunk 6 150\n@reply Hello **world**, this answer is streamed to you piece by piece 🌍');
    const done = await answer(/Hello world, this answer is streamed/);
    assert.ok(done.entities.some((e) => e.type === 'bold'), 'Markdown became formatting');
    assert.match(done.text, /🌍/);
    assert.ok(done.editCount >= 2, `the live message was edited while text arrived (${done.editCount} edits)`);
    assert.ok(telegram.calls.some((c) => c.method === 'sendChatAction'), 'a typing indicator while busy');
    assert.ok(!fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8').includes(TOKEN), 'the token is not in the log');
  });

  test('an unknown user gets one polite refusal and the engine never sees the prompt', async () => {
    telegram.injectMessage({ from: STRANGER, text: '@reply leaked answer' });
    telegram.injectMessage({ from: STRANGER, text: '@reply leaked again' });
    await waitFor('the refusal to be logged', () => readEventLog(world).filter((e) => e.type === 'telegram_refused').length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(botMessages(STRANGER.id).length, 1);
    assert.match(botMessages(STRANGER.id)[0]?.text ?? '', /private/);
    assert.ok(!JSON.stringify(world.api.requests.map((r) => r.body)).includes('leaked'), 'no prompt reached the model');
    assert.deepEqual(await sessionsOf(`tg:${STRANGER.id}`), []);
  });

  test('a user allowed by @username is bound to the first account with the name; another account with it later is refused', async () => {
    telegram.injectMessage({ from: BOB, text: '/help' });
    await waitFor('the help for bob', () => botMessages(BOB.id).find((m) => /What this bot does|active session/.test(m.text)));
    await waitFor('the binding to be recorded', () => readEventLog(world).find((e) => e.type === 'telegram_username_bound' && e.user === BOB.id));
    telegram.injectMessage({ from: IMPOSTOR, text: '/help' });
    await waitFor('the refusal of the impostor', () => readEventLog(world).find((e) => e.type === 'telegram_refused' && e.user === IMPOSTOR.id));
    await waitFor('the impostor to be told', () => botMessages(IMPOSTOR.id).find((m) => /private/.test(m.text)));
    assert.equal(botMessages(IMPOSTOR.id).length, 1, 'the impostor gets nothing but the refusal');
    assert.match(fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8'), new RegExp(`@bob of allowed_users belongs to the account ${BOB.id}`));
  });

  test('two sessions, /switch, and a reply to a message goes to the session that wrote it', async () => {
    const firstAnswer = botMessages().at(-1);
    send('/new second');
    await waitFor('the new session', () => botMessages().find((m) => /second/.test(m.text) && /messages go here/.test(m.text)));
    send('@reply from the second session');
    await answer(/from the second session/);
    const sessions = await sessionsOf(`tg:${ALICE.id}`);
    assert.deepEqual(sessions.map((s) => s.name).sort(), ['main', 'second']);
    assert.match(sessions.find((s) => s.name === 'second')?.lastPrompt ?? '', /from the second session/);

    send('/switch main');
    await waitFor('the switch', () => botMessages().find((m) => /Now talking to main/.test(m.text)));
    send('@reply back in main');
    await answer(/back in main/);
    assert.match((await sessionsOf(`tg:${ALICE.id}`)).find((s) => s.name === 'main')?.lastPrompt ?? '', /back in main/);

    send('/switch second');
    await waitFor('the second switch', () => botMessages().filter((m) => /Now talking to second/.test(m.text)).length > 0);
    send('@reply threaded into main', { replyToMessageId: firstAnswer?.messageId ?? 0 });
    await answer(/threaded into main/);
    assert.match((await sessionsOf(`tg:${ALICE.id}`)).find((s) => s.name === 'main')?.lastPrompt ?? '', /threaded into main/);
    send('/switch main');
    await waitFor('back to main', () => botMessages().filter((m) => /Now talking to main/.test(m.text)).length >= 2);
  });

  test('/stop interrupts the running turn; /rename and /status', async () => {
    send('@wait 20000\n@reply never shown');
    await waitFor('the turn to run', async () => {
      const sessions = (await runCli(world, ['sessions', '--config', config, '--user', `tg:${ALICE.id}`, '--json'])).stdout;
      return (JSON.parse(sessions) as Array<{ name: string; status: string }>).some((x) => x.name === 'main' && x.status === 'busy');
    });
    send('/stop');
    await waitFor(`the stop (bot said: ${botMessages().slice(-2).map((m) => m.text).join(' | ')})`, () => botMessages().find((m) => /Stopping main/.test(m.text)), 15_000);
    await waitFor('the stopped footer', () => botMessages().find((m) => /stopped/.test(m.text) && /— \$\d/.test(m.text)), 30_000);
    send('/rename primary');
    await waitFor('the rename', () => botMessages().find((m) => /Renamed to primary/.test(m.text)));
    assert.ok((await sessionsOf(`tg:${ALICE.id}`)).some((s) => s.name === 'primary'));
    send('/status');
    const status = await waitFor('the status', () => botMessages().find((m) => /extensions/.test(m.text) && /primary/.test(m.text)));
    assert.match(status.text, /telegram ✅/);
    send('/rename main');
    await waitFor('the rename back', () => botMessages().find((m) => /Renamed to main/.test(m.text)));
  });

  test('a question is answered by a button, another by text', async () => {
    send(`@tool mcp__ask_user__ask_user ${JSON.stringify({ question: 'Which colour?', options: ['red', 'blue'] })}\n@echo-tool`);
    const asked = await waitFor('the question with buttons', () => botMessages().find((m) => /Which colour\?/.test(m.text) && m.replyMarkup !== undefined), 30_000);
    const keyboard = JSON.stringify(asked.replyMarkup);
    assert.match(keyboard, /Other…/);
    const blue = /"callback_data":"(q:[^"]+:1)"/.exec(keyboard)?.[1] ?? '';
    const queryId = telegram.injectCallbackQuery({ from: ALICE, messageId: asked.messageId, data: blue });
    await telegram.waitForCall((call) => call.method === 'answerCallbackQuery' && JSON.stringify(call.params).includes(queryId));
    await answer(/^blue/m);
    await waitFor('the question to show the choice', () => telegram.messages(ALICE.id).find((m) => m.messageId === asked.messageId && /✅ blue/.test(m.text)));

    send(`@tool mcp__ask_user__ask_user ${JSON.stringify({ question: 'Your name?' })}\n@echo-tool`);
    await waitFor('the open question', () => botMessages().find((m) => /Your name\?/.test(m.text)), 30_000);
    send('Alice Liddell');
    await answer(/Alice Liddell/);
  });

  test('a 429 with retry_after is honoured', async () => {
    telegram.failNext('sendMessage', { errorCode: 429, retryAfter: 1 });
    const sentAt = Date.now();
    send('@reply after the flood wait');
    await answer(/after the flood wait/);
    const sends = telegram.calls.filter((c) => c.method === 'sendMessage' && c.at >= sentAt);
    const failed = sends.find((c) => (c.response as { ok?: boolean } | undefined)?.ok === false);
    assert.ok(failed, 'the first send was refused with 429');
    const retried = sends.find((c) => c.at > failed.at && (c.response as { ok?: boolean } | undefined)?.ok === true);
    assert.ok(retried && retried.at - failed.at >= 1000, 'the retry waited retry_after');
  });

  test('a 10,000-character answer with code blocks arrives as valid HTML messages under the limit', async () => {
    const paragraph = 'Claude explains <the> code & its "quirks" — ünïcödé 🚀. '.repeat(12);
    const code = Array.from({ length: 40 }, (_, i) => `const value${i} = compute(${i}) < limit && other;`).join('\\n');
    const parts: string[] = [];
    while (parts.join('\\n\\n').length < 10_000) parts.push(paragraph, `\`\`\`ts\\n${code}\\n\`\`\``);
    const countBefore = botMessages().length;
    send(`@reply LONG-START ${parts.join('\\n\\n')} LONG-END`);
    await waitFor('the end of the long answer', () => botMessages().slice(countBefore).find((m) => /LONG-END/.test(m.text) && /— \$\d/.test(m.text)), 30_000);
    const messages = botMessages().slice(countBefore);
    assert.ok(messages.length >= 3, `split into ${messages.length} messages`);
    for (const m of messages) {
      assert.ok(m.sentText.length <= 4096);
      assert.equal(m.parseMode, 'HTML', 'every part was accepted as HTML');
    }
    assert.ok(messages.some((m) => m.entities.some((e) => e.type === 'pre')), 'code blocks stayed code blocks');
  });

  test('a photo lands in the working directory and the prompt says where', async () => {
    const bytes = Buffer.from('fake-png-bytes-\u0001\u0002');
    telegram.injectMessage({ from: ALICE, text: '@reply I see the picture', photo: { bytes } });
    await answer(/I see the picture/);
    const dir = path.join(world.workDir, 'telegram-uploads');
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    assert.deepEqual(fs.readFileSync(path.join(dir, files[0] ?? '')), bytes);
    assert.ok(JSON.stringify(world.api.requests.map((r) => r.body)).includes(path.join(dir, files[0] ?? '')), 'Claude was told the path');
  });

  test('messages in quick succession become one prompt; one sent while the session works is queued with its position', async () => {
    send('@wait 12000\n@reply batched answer');
    send('and this line came right after');
    await waitFor('the batch to reach the session', async () => /came right after/.test((await sessionsOf(`tg:${ALICE.id}`)).find((x) => x.name === 'main')?.lastPrompt ?? ''));
    const main = (await sessionsOf(`tg:${ALICE.id}`)).find((x) => x.name === 'main');
    assert.match(main?.lastPrompt ?? '', /@wait 12000[\s\S]*came right after/, 'both messages are one prompt');
    await new Promise((resolve) => setTimeout(resolve, 500));
    send('@reply I waited my turn');
    await waitFor('the queue position', () => botMessages().find((m) => /queued \(position 1\)/.test(m.text)));
    await answer(/batched answer/);
    await answer(/I waited my turn/);
  });

  test('a session sends a file from its working directory to its own chat, and nothing outside it', async () => {
    fs.writeFileSync(path.join(world.workDir, 'report.txt'), 'the report body');
    send(`@tool mcp__telegram__send_file ${JSON.stringify({ path: 'report.txt', caption: 'your report' })}\n@echo-tool`);
    await answer(/sent report\.txt/);
    const document = telegram.messages(ALICE.id).find((m) => m.kind === 'document');
    assert.equal(document?.file?.bytes.toString(), 'the report body');
    assert.equal(document?.text, 'your report');
    send(`@tool mcp__telegram__send_file ${JSON.stringify({ path: '../../../../etc/hostname' })}\n@echo-tool`);
    await answer(/outside the session's working directory|no such file/);
  });

  test('/vault stores a secret from the chat, deletes the message that held it, and lists keys only', async () => {
    const message = send('/vault set github/token ghp_FromTheChat_123456');
    await waitFor('the confirmation', () => botMessages().find((m) => /Stored github\/token/.test(m.text)));
    assert.ok(telegram.messages(ALICE.id, { includeDeleted: true }).find((m) => m.messageId === message.message_id)?.deleted, 'the message with the value is gone');
    send('/vault list');
    const listed = await waitFor('the list', () => botMessages().find((m) => /🔑 github\/token/.test(m.text)));
    assert.ok(!listed.text.includes('ghp_FromTheChat'));
  });

  test('a private message and a group message moments apart become two prompts, each answered in its own chat', async () => {
    telegram.injectMessage({ from: ALICE, text: '@reply answered in private\nPRIVATE-WORDS' });
    telegram.injectMessage({ from: ALICE, chatId: GROUP, text: '@reply answered in the group\nGROUP-WORDS' });
    await answer(/answered in private/);
    await answer(/answered in the group/, GROUP);
    const sessions = JSON.parse((await runCli(world, ['sessions', '--config', config, '--user', `tg:${ALICE.id}`, '--json'])).stdout) as Array<{ labels: Record<string, string>; lastPrompt?: string }>;
    const inChat = (chat: number): string => sessions.filter((x) => x.labels.chat === String(chat)).map((x) => x.lastPrompt ?? '').join(' | ');
    assert.match(inChat(ALICE.id), /PRIVATE-WORDS/);
    assert.doesNotMatch(inChat(GROUP), /PRIVATE-WORDS/, 'the private text never reaches the group session');
    assert.match(inChat(GROUP), /GROUP-WORDS/);
    assert.ok(!botMessages(GROUP).some((m) => /answered in private/.test(m.text)), 'nothing private is answered in the group');
    assert.ok(!botMessages().some((m) => /answered in the group/.test(m.text)));
  });

  test('an answer that finished while the daemon was killed reaches the chat once after the restart', async () => {
    send('@wait 2500\n@reply finished while the daemon was away');
    await waitFor('the turn to reach the model', () => JSON.stringify(world.api.requests.map((r) => r.body)).includes('finished while the daemon was away'));
    await daemon.kill();
    await new Promise((resolve) => setTimeout(resolve, 3500));
    daemon = await startDaemonProcess(world, ['--config', config]);
    await answer(/finished while the daemon was away/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(botMessages().filter((m) => /finished while the daemon was away/.test(m.text)).length, 1, 'delivered exactly once');
  });

  test('an answer the chat got as the daemon was killed, before the daemon learnt so, is not sent again after the restart', async () => {
    // The call that puts the footer into the chat is carried out; its answer never comes.
    telegram.holdAnswers((call) => /— \$\d/.test(String(call.params.text ?? '')));
    send('@reply shown as the daemon died');
    await answer(/shown as the daemon died/);
    const promptId = String(readEventLog(world).filter((e) => e.type === 'telegram_prompt').at(-1)?.prompt);
    await daemon.kill();
    telegram.holdAnswers(undefined);
    daemon = await startDaemonProcess(world, ['--config', config]);
    const sentResults = (): string[] => (JSON.parse(fs.readFileSync(path.join(world.stateDir, 'data', 'telegram', 'state.json'), 'utf8')) as { sentResults?: string[] }).sentResults ?? [];
    await waitFor('the answer recorded as sent', () => sentResults().includes(promptId), 30_000);
    assert.equal(botMessages().filter((m) => /shown as the daemon died/.test(m.text)).length, 1, 'delivered exactly once');
  });

  test('messages sent while the daemon was down are processed after the restart', async () => {
    await daemon.stop();
    send('@reply answered after the restart');
    daemon = await startDaemonProcess(world, ['--config', config]);
    await answer(/answered after the restart/);
    assert.equal(botMessages().filter((m) => /answered after the restart/.test(m.text)).length, 1, 'exactly once');
  });
});

describe('telegram when the Bot API is gone', () => {
  test('SIGTERM ends the daemon promptly: stopping Telegram gives up on the unreachable API', async () => {
    const world = await createWorld('tggone');
    const telegram = await startFakeTelegram({ token: TOKEN });
    try {
      const config = writeConfig(world, ['enabled: [telegram]', 'extensions:', '  telegram:', `    token: "${TOKEN}"`, `    allowed_users: [${ALICE.id}]`, `    api_root: ${telegram.apiRoot}`, ''].join('\n'));
      const daemon = await startPollingDaemon(world, config, telegram);
      await telegram.close();
      const signalled = Date.now();
      await daemon.stop();
      const took = Date.now() - signalled;
      assert.ok(took < 10_000, `the daemon took ${took} ms to end`);
      assert.match(daemon.output(), /did not answer while stopping/);
    } finally {
      await stopStartedDaemons();
      await world.cleanup();
    }
  });
});

describe('telegram in webhook mode', () => {
  let world: TestWorld;
  let telegram: FakeTelegram;
  let port: number;
  const secret = 'webhook-secret-token-0123456789';

  before(async () => {
    world = await createWorld('tghook');
    telegram = await startFakeTelegram({ token: TOKEN });
    port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address() as net.AddressInfo;
        probe.close(() => resolve(address.port));
      });
    });
    const config = writeConfig(
      world,
      [
        'enabled: [telegram]',
        'extensions:',
        '  telegram:',
        `    token: "${TOKEN}"`,
        `    allowed_users: [${ALICE.id}]`,
        `    api_root: ${telegram.apiRoot}`,
        '    mode: webhook',
        '    batch_window: 100ms',
        '    webhook:',
        '      url: https://bot.example.invalid/hook',
        `      secret_token: ${secret}`,
        `      port: ${port}`,
        '',
      ].join('\n'),
    );
    await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await telegram.close();
    await world.cleanup();
  });

  test('updates posted with the secret token are handled; without it they are refused', async () => {
    const registered = await telegram.waitForCall((call) => call.method === 'setWebhook');
    assert.equal((registered.params as { secret_token?: string }).secret_token, secret);
    const post = (update: object, token?: string) =>
      fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { 'x-telegram-bot-api-secret-token': token } : {}) }, body: JSON.stringify(update) });
    const message = (id: number, text: string) => ({
      update_id: id,
      message: { message_id: 1000 + id, date: Math.floor(Date.now() / 1000), chat: { id: ALICE.id, type: 'private', first_name: 'Alice' }, from: { ...ALICE, is_bot: false }, text },
    });
    const forged = await post(message(1, '@reply forged'), 'wrong-secret');
    assert.equal(forged.status, 401);
    const real = await post(message(2, '@reply through the webhook'), secret);
    assert.equal(real.status, 200);
    await waitFor('the answer', () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /through the webhook/.test(m.text) && /— \$\d/.test(m.text)), 30_000);
    assert.ok(!JSON.stringify(world.api.requests.map((r) => r.body)).includes('forged'), 'the forged update never reached the model');
    assert.ok(!telegram.calls.some((c) => c.method === 'getUpdates'), 'no polling in webhook mode');
  });
});

describe('telegram results while Telegram is unreachable', () => {
  let world: TestWorld;
  let telegram: FakeTelegram;
  let config: string;
  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);

  before(async () => {
    world = await createWorld('tgdown');
    telegram = await startFakeTelegram({ token: TOKEN });
    config = writeConfig(
      world,
      [
        // ask_user takes every event too: a result handed to it is not one the chat has.
        'enabled: [ask_user, cron, telegram]',
        'extensions:',
        '  telegram:',
        `    token: "${TOKEN}"`,
        `    allowed_users: [${ALICE.id}]`,
        `    api_root: ${telegram.apiRoot}`,
        '',
      ].join('\n'),
    );
    // Telegram refuses the bot at start-up: the extension fails to start.
    telegram.failNext('getMe', { errorCode: 401 });
    await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await telegram.close();
    await world.cleanup();
  });

  test('a cron result for a chat waits while telegram is not running, and arrives exactly once when it is back, after a refused first send', async () => {
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as { extensions: Array<{ name: string; state: string }> };
    assert.equal(status.extensions.find((e) => e.name === 'telegram')?.state, 'failed', 'telegram did not start');

    const added = await cli(['cron', 'add', 'for-the-chat', '--user', `tg:${ALICE.id}`, '--schedule', '0 0 1 1 *', '--label', 'frontend=telegram', '--label', `chat=${ALICE.id}`, '@reply the scheduled answer for the chat']);
    assert.equal(added.code, 0, added.stderr);
    const jobId = /created (\S+)/.exec(added.stdout)?.[1] ?? '';
    assert.equal((await cli(['cron', 'run-now', jobId])).code, 0);
    await waitFor('the run to finish', () => readEventLog(world).find((e) => e.type === 'cron_result' && e.job === jobId && e.status === 'success'), 30_000);
    assert.equal(telegram.messages(ALICE.id).length, 0, 'nothing could be sent yet');

    // Telegram is back, but refuses the first send: the result is handed again and arrives once.
    telegram.failNext('sendMessage', { errorCode: 403 });
    const reload = await cli(['reload']);
    assert.equal(reload.code, 0, reload.stderr);
    const arrived = await waitFor(
      'the result in the chat',
      () => telegram.messages(ALICE.id).find((m) => m.sender === 'bot' && /the scheduled answer for the chat/.test(m.text) && /— \$\d/.test(m.text)),
      30_000,
    );
    assert.ok(arrived);
    const refused = telegram.calls.filter((c) => c.method === 'sendMessage' && c.response?.ok === false);
    assert.equal(refused.length, 1, 'the first send was refused');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(telegram.messages(ALICE.id).filter((m) => /the scheduled answer for the chat/.test(m.text)).length, 1, 'delivered exactly once');
    assert.match(fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8'), /the frontend "telegram" could not deliver a result/);
  });
});

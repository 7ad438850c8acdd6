import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bot, GrammyError, InputFile } from 'grammy';
import { startFakeTelegram, parseTelegramHtml, type FakeTelegram } from '../../support/fake-telegram.ts';

const TOKEN = '123456:TEST-token';
const ALICE = { id: 4242, first_name: 'Alice', username: 'alice' };

interface ApiAnswer {
  ok: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

async function call(fake: FakeTelegram, method: string, params: Record<string, unknown> = {}, token = TOKEN): Promise<{ status: number; body: ApiAnswer }> {
  const res = await fetch(`${fake.apiRoot}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as ApiAnswer };
}

async function withFake(run: (fake: FakeTelegram) => Promise<void>): Promise<void> {
  const fake = await startFakeTelegram({ token: TOKEN });
  try {
    await run(fake);
  } finally {
    await fake.close();
  }
}

async function withBot(fake: FakeTelegram, setUp: (bot: Bot) => void, run: (bot: Bot) => Promise<void>): Promise<void> {
  const bot = new Bot(TOKEN, { client: { apiRoot: fake.apiRoot } });
  setUp(bot);
  let failure: unknown;
  const polling = bot.start({ drop_pending_updates: false }).catch((error: unknown) => {
    failure = error;
  });
  try {
    await run(bot);
  } finally {
    await bot.stop();
    await polling;
  }
  if (failure) throw failure;
}

test('a grammY bot receives an injected message by long polling and its reply is recorded', async () => {
  await withFake(async (fake) => {
    await withBot(
      fake,
      (bot) => {
        bot.command('start', (ctx) => ctx.reply('welcome'));
        bot.on('message:text', (ctx) => ctx.reply(`<b>echo</b>: ${ctx.message.text}`, { parse_mode: 'HTML', reply_parameters: { message_id: ctx.message.message_id } }));
      },
      async () => {
        await fake.waitForCall((c) => c.method === 'getUpdates');
        const sent = fake.injectMessage({ from: ALICE, text: 'hello 👋' });
        const reply = await fake.waitForCall((c) => c.method === 'sendMessage');
        assert.equal(reply.params.chat_id, ALICE.id);
        assert.equal(reply.params.text, '<b>echo</b>: hello 👋');
        assert.equal(reply.params.parse_mode, 'HTML');

        fake.injectMessage({ from: ALICE, text: '/start' });
        await fake.waitForCall((c) => c.method === 'sendMessage' && c.params.text === 'welcome');

        const chat = fake.messages(ALICE.id);
        assert.deepEqual(
          chat.map((m) => [m.sender, m.text]),
          [
            ['user', 'hello 👋'],
            ['bot', 'echo: hello 👋'],
            ['user', '/start'],
            ['bot', 'welcome'],
          ],
        );
        assert.equal(chat[1]?.replyToMessageId, sent.message_id);
        assert.deepEqual(chat[1]?.entities, [{ type: 'bold', offset: 0, length: 4 }]);
        assert.ok((chat[2]?.messageId ?? 0) > sent.message_id, 'message ids increase');
      },
    );
    assert.ok(fake.calls.some((c) => c.method === 'getMe'));
    assert.ok(fake.calls.some((c) => c.method === 'deleteWebhook'));
  });
});

test('getUpdates answers at once when updates wait, holds otherwise, and drops confirmed ones', async () => {
  await withFake(async (fake) => {
    const first = fake.injectMessage({ from: ALICE, text: 'one' });
    const answer = await call(fake, 'getUpdates', { timeout: 10 });
    const updates = answer.body.result as { update_id: number; message: { text: string; message_id: number } }[];
    assert.equal(updates.length, 1);
    assert.equal(updates[0]?.message.message_id, first.message_id);

    const started = Date.now();
    const held = call(fake, 'getUpdates', { offset: (updates[0]?.update_id ?? 0) + 1, timeout: 10 });
    await fake.waitForCall((c, i) => c.method === 'getUpdates' && i === 1);
    fake.injectMessage({ from: ALICE, text: 'two' });
    const next = (await held).body.result as { update_id: number; message: { text: string } }[];
    assert.deepEqual(
      next.map((u) => u.message.text),
      ['two'],
    );
    assert.ok(Date.now() - started < 5000, 'answered when the update came, not at the timeout');
    assert.ok((next[0]?.update_id ?? 0) > (updates[0]?.update_id ?? 0));

    const empty = await call(fake, 'getUpdates', { offset: (next[0]?.update_id ?? 0) + 1, timeout: 1 });
    assert.deepEqual(empty.body.result, []);

    fake.injectCallbackQuery({ from: ALICE, messageId: first.message_id, data: 'x' });
    const filtered = await call(fake, 'getUpdates', { allowed_updates: ['message'], timeout: 0 });
    assert.deepEqual(filtered.body.result, [], 'updates of types not allowed are not delivered');
  });
});

test('a 429 comes back as Telegram sends it, with retry_after', async () => {
  await withFake(async (fake) => {
    fake.failNext('sendMessage', { errorCode: 429, retryAfter: 7 });
    const limited = await call(fake, 'sendMessage', { chat_id: ALICE.id, text: 'hi' });
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.body, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } });
    const after = await call(fake, 'sendMessage', { chat_id: ALICE.id, text: 'hi' });
    assert.equal(after.body.ok, true, 'only the next call fails');

    fake.failNext('sendMessage', { errorCode: 429, retryAfter: 3 });
    const bot = new Bot(TOKEN, { client: { apiRoot: fake.apiRoot } });
    const error = await bot.api.sendMessage(ALICE.id, 'again').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof GrammyError);
    assert.equal(error.error_code, 429);
    assert.equal(error.parameters.retry_after, 3);
    assert.equal(fake.messages(ALICE.id).length, 1, 'the refused message is not in the chat');
  });
});

test('text longer than 4096 UTF-16 code units is refused as too long', async () => {
  await withFake(async (fake) => {
    const tooLong = await call(fake, 'sendMessage', { chat_id: 1, text: 'x'.repeat(4097) });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.description, 'Bad Request: message is too long');
    assert.equal((await call(fake, 'sendMessage', { chat_id: 1, text: 'x'.repeat(4096) })).body.ok, true);
    assert.equal((await call(fake, 'sendMessage', { chat_id: 1, text: '😀'.repeat(2048) })).body.ok, true);
    assert.equal((await call(fake, 'sendMessage', { chat_id: 1, text: '😀'.repeat(2049) })).status, 400);
    const markup = `<b>${'y'.repeat(4096)}</b>`;
    assert.equal((await call(fake, 'sendMessage', { chat_id: 1, text: markup, parse_mode: 'HTML' })).body.ok, true, 'tags do not count');
    assert.equal((await call(fake, 'sendMessage', { chat_id: 1, text: '   ' })).body.description, 'Bad Request: message text is empty');
  });
});

test('malformed HTML is refused with "can\'t parse entities"', async () => {
  await withFake(async (fake) => {
    const cases: [string, RegExp][] = [
      ['<b>never closed', /Can't find end tag corresponding to start tag "b"/],
      ['<b><i>crossed</b></i>', /Unmatched end tag at byte offset 13, expected "<\/i>", found "<\/b>"/],
      ['stray </b>', /Unexpected end tag at byte offset 6/],
      ['<div>block</div>', /Unsupported start tag "div" at byte offset 0/],
      ['a < b', /Unsupported start tag "" at byte offset 2/],
      ['fish & chips', /Character "&" must be escaped/],
      ['&nbsp;', /Unsupported HTML entity "&nbsp;"/],
      ['<a href="x>unclosed', /Unclosed start tag/],
      ['<span>no class</span>', /Tag "span" must have class "tg-spoiler"/],
    ];
    for (const [text, expected] of cases) {
      const answer = await call(fake, 'sendMessage', { chat_id: 1, text, parse_mode: 'HTML' });
      assert.equal(answer.status, 400, text);
      assert.match(answer.body.description ?? '', /^Bad Request: can't parse entities: /, text);
      assert.match(answer.body.description ?? '', expected, text);
    }
    const good = await call(fake, 'sendMessage', {
      chat_id: 1,
      parse_mode: 'HTML',
      text: '<b>b <i>bi</i></b> &lt;&amp;&gt;&quot;&#128512; <a href="https://x.dev/?a=1&amp;b=2">l</a>\n<pre><code class="language-ts">x</code></pre><blockquote expandable>q</blockquote>',
    });
    assert.equal(good.body.ok, true, good.body.description);
    const message = good.body.result as { text: string; entities: unknown[] };
    assert.equal(message.text, 'b bi <&>"😀 l\nxq');
    assert.deepEqual(message.entities, [
      { type: 'bold', offset: 0, length: 4 },
      { type: 'italic', offset: 2, length: 2 },
      { type: 'text_link', offset: 12, length: 1, url: 'https://x.dev/?a=1&b=2' },
      { type: 'pre', offset: 14, length: 1, language: 'ts' },
      { type: 'expandable_blockquote', offset: 15, length: 1 },
    ]);
    assert.deepEqual(parseTelegramHtml('<b>x</b>'), { ok: true, text: 'x', entities: [{ type: 'bold', offset: 0, length: 1 }] });
  });
});

test('edits: not modified, keyboards, deletion and what the chat shows', async () => {
  await withFake(async (fake) => {
    const keyboard = { inline_keyboard: [[{ text: 'Stop', callback_data: 'stop:1' }]] };
    const sent = await call(fake, 'sendMessage', { chat_id: ALICE.id, text: 'working…', reply_markup: keyboard });
    const id = (sent.body.result as { message_id: number }).message_id;

    const same = await call(fake, 'editMessageText', { chat_id: ALICE.id, message_id: id, text: 'working…', reply_markup: keyboard });
    assert.equal(same.status, 400);
    assert.match(same.body.description ?? '', /^Bad Request: message is not modified/);

    assert.equal((await call(fake, 'editMessageText', { chat_id: ALICE.id, message_id: id, text: '<i>done</i>', parse_mode: 'HTML' })).body.ok, true);
    const [shown] = fake.messages(ALICE.id);
    assert.equal(shown?.text, 'done');
    assert.equal(shown?.sentText, '<i>done</i>');
    assert.equal(shown?.replyMarkup, undefined, 'an edit without reply_markup removes the keyboard');
    assert.equal(shown?.editCount, 1);

    assert.equal((await call(fake, 'editMessageReplyMarkup', { chat_id: ALICE.id, message_id: id, reply_markup: keyboard })).body.ok, true);
    assert.deepEqual(fake.messages(ALICE.id)[0]?.replyMarkup, keyboard);
    const tooLong = await call(fake, 'editMessageText', { chat_id: ALICE.id, message_id: id, text: 'z'.repeat(5000) });
    assert.equal(tooLong.body.description, 'Bad Request: MESSAGE_TOO_LONG');

    assert.equal((await call(fake, 'deleteMessage', { chat_id: ALICE.id, message_id: id })).body.ok, true);
    assert.deepEqual(fake.messages(ALICE.id), []);
    assert.equal(fake.messages(ALICE.id, { includeDeleted: true })[0]?.deleted, true);
    assert.equal((await call(fake, 'deleteMessage', { chat_id: ALICE.id, message_id: id })).body.description, 'Bad Request: message to delete not found');
    assert.equal((await call(fake, 'editMessageText', { chat_id: ALICE.id, message_id: id, text: 'x' })).body.description, 'Bad Request: message to edit not found');
  });
});

test('callback queries reach the bot and are answered once', async () => {
  await withFake(async (fake) => {
    await withBot(
      fake,
      (bot) => {
        bot.callbackQuery(/^stop:/, async (ctx) => {
          await ctx.answerCallbackQuery({ text: 'stopping' });
          await ctx.editMessageText('stopped');
        });
      },
      async (bot) => {
        const sent = await bot.api.sendMessage(ALICE.id, 'running', { reply_markup: { inline_keyboard: [[{ text: 'Stop', callback_data: 'stop:1' }]] } });
        const queryId = fake.injectCallbackQuery({ from: ALICE, messageId: sent.message_id, data: 'stop:1' });
        const answered = await fake.waitForCall((c) => c.method === 'answerCallbackQuery');
        assert.equal(answered.params.callback_query_id, queryId);
        await fake.waitForCall((c) => c.method === 'editMessageText' && c.response?.ok === true);
        assert.equal(fake.messages(ALICE.id)[0]?.text, 'stopped');
        const again = await call(fake, 'answerCallbackQuery', { callback_query_id: queryId });
        assert.match(again.body.description ?? '', /query is too old/);
      },
    );
  });
});

test('uploads by multipart, downloads through getFile and the file route', async () => {
  await withFake(async (fake) => {
    const bot = new Bot(TOKEN, { client: { apiRoot: fake.apiRoot } });
    const doc = await bot.api.sendDocument(ALICE.id, new InputFile(Buffer.from('report body'), 'report.txt'), { caption: '<b>Report</b>', parse_mode: 'HTML' });
    assert.equal(doc.document?.file_name, 'report.txt');
    assert.equal(doc.caption, 'Report');
    const upload = fake.calls.find((c) => c.method === 'sendDocument');
    assert.equal(upload?.params.chat_id, ALICE.id);

    const photo = await bot.api.sendPhoto(ALICE.id, new InputFile(Buffer.from([0xff, 0xd8, 0xff]), 'p.jpg'));
    assert.ok((photo.photo?.length ?? 0) > 0);

    const incoming = fake.injectMessage({ from: ALICE, text: 'look', photo: { bytes: Buffer.from('jpeg bytes') } });
    assert.equal(incoming.caption, 'look');
    const largest = incoming.photo?.[incoming.photo.length - 1];
    const file = await bot.api.getFile(largest?.file_id ?? '');
    const res = await fetch(`${fake.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).toString(), 'jpeg bytes');

    const documentMessage = fake.injectMessage({ from: ALICE, document: { bytes: 'a,b\n1,2', fileName: 'data.csv', mimeType: 'text/csv' } });
    const csv = await bot.api.getFile(documentMessage.document?.file_id ?? '');
    assert.equal(await (await fetch(`${fake.apiRoot}/file/bot${TOKEN}/${csv.file_path}`)).text(), 'a,b\n1,2');
    assert.equal((await call(fake, 'getFile', { file_id: 'nope' })).body.description, 'Bad Request: invalid file_id');
  });
});

test('form bodies and GET are accepted; a wrong token is 401 and an unknown method 404', async () => {
  await withFake(async (fake) => {
    const form = await fetch(`${fake.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ chat_id: '77', text: 'via form', reply_markup: JSON.stringify({ inline_keyboard: [[{ text: 'a', callback_data: 'b' }]] }) }),
    });
    assert.equal(form.status, 200);
    assert.equal(fake.messages(77)[0]?.text, 'via form');
    assert.deepEqual(fake.messages(77)[0]?.replyMarkup, { inline_keyboard: [[{ text: 'a', callback_data: 'b' }]] });

    const get = await fetch(`${fake.apiRoot}/bot${TOKEN}/getMe`);
    const me = (await get.json()) as ApiAnswer;
    assert.equal((me.result as { id: number; is_bot: boolean }).id, 123456);

    const wrong = await call(fake, 'getMe', {}, '999:nope');
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { ok: false, error_code: 401, description: 'Unauthorized' });
    const unknown = await call(fake, 'sendTelepathy', {});
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { ok: false, error_code: 404, description: 'Not Found' });

    assert.equal((await call(fake, 'sendChatAction', { chat_id: 77, action: 'typing' })).body.result, true);
    assert.equal((await call(fake, 'sendChatAction', { chat_id: 77, action: 'dancing' })).status, 400);
    assert.equal((await call(fake, 'setMyCommands', { commands: [{ command: 'new', description: 'Start a new session' }] })).body.result, true);
    assert.equal((await call(fake, 'setMyCommands', { commands: [{ command: 'Bad-Name', description: 'x' }] })).status, 400);
  });
});

test('waitForCall gives up with the calls it saw', async () => {
  await withFake(async (fake) => {
    await call(fake, 'getMe');
    await assert.rejects(fake.waitForCall((c) => c.method === 'sendMessage', 50), /No matching Telegram call within 50 ms; calls so far: getMe/);
  });
});

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrammyError } from 'grammy';
import type { EngineEvent, Frontend, ResultEvent, SessionSummary } from 'claude-ext/extension';
import { silentLogger } from 'claude-ext/extension';
import { BotState } from '../../../../extensions/telegram/bot-state.ts';
import { ChatOutbox } from '../../../../extensions/telegram/chat-outbox.ts';
import { ApprovalPrompts } from '../../../../extensions/telegram/approval-prompts.ts';
import type { QuestionPrompts } from '../../../../extensions/telegram/question-prompts.ts';
import type { TelegramRuntime } from '../../../../extensions/telegram/runtime.ts';
import { followSessions } from '../../../../extensions/telegram/session-follower.ts';
import { waitFor } from '../../../support/harness.ts';

const dirs: string[] = [];
after(async () => {
  // A follower left for dead still saves its state once its save timer runs.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const SESSION = { id: 's_1', user: 'tg:111', name: 'main', labels: { frontend: 'telegram', chat: '111' } } as unknown as SessionSummary;

const result = (promptId: string, text: string): ResultEvent => ({
  type: 'result',
  sessionId: SESSION.id,
  user: SESSION.user,
  promptId,
  result: { outcome: 'success', isError: false, text, subtype: 'success', costUsd: 0.01, durationMs: 20, numTurns: 1, usage: { inputTokens: 1, outputTokens: 1, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 } },
});

/**
 * A private chat on a fake Bot API, as Telegram shows it: the bot's messages by id. `dieWhen` stands for
 * the daemon killed while a call it made is under way: the chat changes, the call never answers.
 */
function fakeChat(failSends = 0): { api: object; texts: () => string[]; sentTo: Array<{ chatId: string; text: string }>; dieWhen: ((text: string) => boolean) | undefined } {
  const messages = new Map<number, string>();
  let failures = failSends;
  let nextId = 1;
  const refuse = (method: string, description: string): GrammyError => new GrammyError(`Call to '${method}' failed!`, { ok: false, error_code: 400, description }, method, {});
  const answer = <T>(text: string, value: T): Promise<T> => (chat.dieWhen?.(text) ? new Promise<T>(() => undefined) : Promise.resolve(value));
  const chat = {
    dieWhen: undefined as ((text: string) => boolean) | undefined,
    sentTo: [] as Array<{ chatId: string; text: string }>,
    texts: () => [...messages.values()],
    api: {
      sendMessage: async (chatId: string, text: string) => {
        chat.sentTo.push({ chatId: String(chatId), text });
        if (failures > 0) {
          failures -= 1;
          throw new Error('Telegram is unreachable');
        }
        const id = nextId++;
        messages.set(id, text);
        return answer(text, { message_id: id });
      },
      editMessageText: async (_chat: string, id: number, text: string) => {
        const shown = messages.get(id);
        if (shown === undefined) throw refuse('editMessageText', 'Bad Request: message to edit not found');
        if (shown === text) throw refuse('editMessageText', 'Bad Request: message is not modified');
        messages.set(id, text);
        return answer(text, true);
      },
      deleteMessage: async (_chat: string, id: number) => messages.delete(id),
      sendChatAction: async () => true,
    },
  };
  return chat;
}

/** The follower (as a daemon starting on `dataDir` registers it) on a fake chat: the frontend it registers. */
function follower(dataDir: string, chat: ReturnType<typeof fakeChat>): Frontend {
  let frontend: Frontend | undefined;
  const ctx = {
    config: { verbosity: 'tools', edit_interval: 10 },
    logger: silentLogger,
    sessions: { get: (id: string) => (id === SESSION.id ? SESSION : undefined) },
    track: <T>(disposable: T) => disposable,
    addFrontend: (registered: Frontend) => {
      frontend = registered;
      return { dispose: () => undefined };
    },
  };
  const runtime = { ctx, bot: { api: chat.api }, state: new BotState(dataDir), outbox: new ChatOutbox(silentLogger), replyTo: new Map() } as unknown as TelegramRuntime;
  followSessions(runtime, {} as QuestionPrompts, {} as ApprovalPrompts);
  assert.ok(frontend, 'the follower registers as a frontend');
  return frontend;
}

function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-tg-follower-'));
  dirs.push(dir);
  return dir;
}

const FOOTER = /— \$\d/;

test('a result handed again after it was sent (the daemon died before the engine recorded it) is not sent twice', async () => {
  const dir = freshDir();
  const chat = fakeChat();
  await follower(dir, chat).deliver(result('p_1', 'the answer'));
  assert.equal(chat.texts().length, 1);
  assert.match(chat.texts()[0] ?? '', /the answer/);

  const afterRestart = follower(dir, chat);
  await afterRestart.deliver(result('p_1', 'the answer'));
  assert.equal(chat.texts().length, 1, 'recognised by its prompt id');
  await afterRestart.deliver(result('p_2', 'another answer'));
  assert.equal(chat.texts().length, 2);
});

test('an answer the chat got while the daemon died before recording it is not sent again when the result is handed again', async () => {
  const dir = freshDir();
  const chat = fakeChat();
  chat.dieWhen = (text) => FOOTER.test(text);
  void follower(dir, chat).deliver(result('p_1', 'the answer'));
  await waitFor('the answer in the chat', () => chat.texts().some((text) => FOOTER.test(text)));
  chat.dieWhen = undefined;

  await follower(dir, chat).deliver(result('p_1', 'the answer'));
  assert.equal(chat.texts().length, 1, `one message: ${JSON.stringify(chat.texts())}`);
  assert.match(chat.texts()[0] ?? '', /the answer/);
  assert.match(chat.texts()[0] ?? '', FOOTER);
});

test('a reply that was streaming when the daemon died is finished in its own message after the restart', async () => {
  const dir = freshDir();
  const chat = fakeChat();
  const before = follower(dir, chat);
  await before.onEvent?.({ type: 'text', sessionId: SESSION.id, user: SESSION.user, promptId: 'p_1', text: 'the answer so far', partial: false } as EngineEvent);
  await waitFor('the live message', () => chat.texts().some((text) => text.includes('the answer so far')));

  await follower(dir, chat).deliver(result('p_1', 'the whole answer'));
  assert.equal(chat.texts().length, 1, `one message: ${JSON.stringify(chat.texts())}`);
  assert.match(chat.texts()[0] ?? '', /the whole answer/);
  assert.match(chat.texts()[0] ?? '', FOOTER);
});

test('a send that fails rejects the delivery, so the engine hands the result again; then it is sent once', async () => {
  const chat = fakeChat(1);
  const frontend = follower(freshDir(), chat);
  await assert.rejects(frontend.deliver(result('p_1', 'after a failure')), /unreachable/);
  assert.equal(chat.texts().length, 0);
  await frontend.deliver(result('p_1', 'after a failure'));
  assert.equal(chat.texts().length, 1);
  assert.match(chat.texts()[0] ?? '', /after a failure/);
});

/** The follower with real approval prompts, over these sessions. */
function approvalFollower(dataDir: string, chat: ReturnType<typeof fakeChat>, sessions: SessionSummary[]): Frontend {
  let frontend: Frontend | undefined;
  const ctx = {
    config: { verbosity: 'tools', edit_interval: 10 },
    logger: silentLogger,
    sessions: { get: (id: string) => sessions.find((s) => s.id === id) },
    approvals: { get: () => undefined },
    record: () => undefined,
    track: <T>(disposable: T) => disposable,
    addFrontend: (registered: Frontend) => {
      frontend = registered;
      return { dispose: () => undefined };
    },
  };
  const runtime = { ctx, bot: { api: chat.api }, state: new BotState(dataDir), outbox: new ChatOutbox(silentLogger), replyTo: new Map() } as unknown as TelegramRuntime;
  followSessions(runtime, {} as QuestionPrompts, new ApprovalPrompts(runtime));
  assert.ok(frontend);
  return frontend;
}

const chatless = (id: string, user: string, labels: Record<string, string> = {}): SessionSummary => ({ id, user, name: id, labels }) as unknown as SessionSummary;

const asked = (sessionId: string, id: string): EngineEvent =>
  ({ type: 'approval_requested', sessionId, user: 'x', id, tool: 'Bash', input: { command: `echo ${id}` }, summary: `Bash: echo ${id}`, suggestedPattern: 'Bash(echo:*)', sessionPattern: `Bash(echo ${id})`, requestedAt: '2026-12-01T13:00:00.000Z', expiresAt: '2026-12-01T13:10:00.000Z' }) as unknown as EngineEvent;

test('an approval of a session without a chat is asked in its lead\'s chat, else in its Telegram user\'s private chat', async () => {
  const chat = fakeChat();
  const lead = chatless('s_lead', 'tg:111', { frontend: 'telegram', chat: '-100500' });
  const sessions = [lead, chatless('s_worker', 'tg:111', { lead: 's_lead' }), chatless('s_cron', 'tg:222', { background: 'cron' }), chatless('s_local', 'alice')];
  const frontend = approvalFollower(freshDir(), chat, sessions);
  await frontend.onEvent?.(asked('s_worker', 'ap_w'));
  await frontend.onEvent?.(asked('s_cron', 'ap_c'));
  await frontend.onEvent?.(asked('s_local', 'ap_l'));
  await waitFor('two approval messages', () => chat.sentTo.length >= 2);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(chat.sentTo.map((m) => [m.chatId, /echo (ap_\w+)/.exec(m.text)?.[1]]), [['-100500', 'ap_w'], ['222', 'ap_c']], 'the user that is not a Telegram user has nowhere to be asked');
  assert.match(chat.sentTo[0]?.text ?? '', /s_worker<\/b> wants to use/);

  await frontend.onEvent?.({ type: 'approval_resolved', sessionId: 's_cron', user: 'tg:222', id: 'ap_c', decision: 'deny', by: 'timeout', reason: 'not answered within 10m' } as unknown as EngineEvent);
  await waitFor('the private message closed', () => chat.texts().some((text) => /echo ap_c/.test(text) && /Denied<\/b> by timeout/.test(text)));
});

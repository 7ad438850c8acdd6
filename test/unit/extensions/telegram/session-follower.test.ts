import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Frontend, ResultEvent, SessionSummary } from 'claude-ext/extension';
import { silentLogger } from 'claude-ext/extension';
import { BotState } from '../../../../extensions/telegram/bot-state.ts';
import { ChatOutbox } from '../../../../extensions/telegram/chat-outbox.ts';
import type { QuestionPrompts } from '../../../../extensions/telegram/question-prompts.ts';
import type { TelegramRuntime } from '../../../../extensions/telegram/runtime.ts';
import { followSessions } from '../../../../extensions/telegram/session-follower.ts';

const dirs: string[] = [];
after(() => {
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

/** The follower on a fake Bot API: the frontend it registers, and the messages it sent. */
function follower(dataDir: string, failSends = 0): { frontend: Frontend; sent: string[] } {
  const sent: string[] = [];
  let failures = failSends;
  let nextId = 1;
  const api = {
    sendMessage: async (_chat: string, text: string) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('Telegram is unreachable');
      }
      sent.push(text);
      return { message_id: nextId++ };
    },
    editMessageText: async () => true,
    deleteMessage: async () => true,
    sendChatAction: async () => true,
  };
  let frontend: Frontend | undefined;
  const ctx = {
    config: { verbosity: 'tools', edit_interval: 1000 },
    logger: silentLogger,
    sessions: { get: (id: string) => (id === SESSION.id ? SESSION : undefined) },
    track: <T>(disposable: T) => disposable,
    addFrontend: (registered: Frontend) => {
      frontend = registered;
      return { dispose: () => undefined };
    },
  };
  const runtime = { ctx, bot: { api }, state: new BotState(dataDir), outbox: new ChatOutbox(silentLogger), replyTo: new Map() } as unknown as TelegramRuntime;
  followSessions(runtime, {} as QuestionPrompts);
  assert.ok(frontend, 'the follower registers as a frontend');
  return { frontend, sent };
}

function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-tg-follower-'));
  dirs.push(dir);
  return dir;
}

test('a result handed again after it was sent (the daemon died before the engine recorded it) is not sent twice', async () => {
  const dir = freshDir();
  const first = follower(dir);
  await first.frontend.deliver(result('p_1', 'the answer'));
  assert.equal(first.sent.length, 1);
  assert.match(first.sent[0] ?? '', /the answer/);

  const afterRestart = follower(dir);
  await afterRestart.frontend.deliver(result('p_1', 'the answer'));
  assert.equal(afterRestart.sent.length, 0, 'recognised by its prompt id');
  await afterRestart.frontend.deliver(result('p_2', 'another answer'));
  assert.equal(afterRestart.sent.length, 1);
});

test('a send that fails rejects the delivery, so the engine hands the result again; then it is sent once', async () => {
  const { frontend, sent } = follower(freshDir(), 1);
  await assert.rejects(frontend.deliver(result('p_1', 'after a failure')), /unreachable/);
  assert.equal(sent.length, 0);
  await frontend.deliver(result('p_1', 'after a failure'));
  assert.equal(sent.length, 1);
});

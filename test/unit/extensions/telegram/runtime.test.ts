import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bot } from 'grammy';
import type { ExtensionContext, SessionPromptRequest, SessionSummary } from 'claude-ext/extension';
import { silentLogger } from 'claude-ext/extension';
import { BotState } from '../../../../extensions/telegram/bot-state.ts';
import { ChatOutbox } from '../../../../extensions/telegram/chat-outbox.ts';
import type { TelegramConfig } from '../../../../extensions/telegram/config.ts';
import { createRuntime } from '../../../../extensions/telegram/runtime.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const SESSION = { id: 's_1', user: 'tg:111', name: 'main', status: 'idle', labels: { frontend: 'telegram', chat: '111' } } as unknown as SessionSummary;

/** The runtime (as a daemon starting on `dataDir` creates it) on an engine that records what it is given. */
function runtimeOn(dataDir: string, submit: (request: SessionPromptRequest) => void) {
  const ctx = {
    config: { batch_window: 10, on_busy: 'queue' },
    sessions: {
      get: (id: string) => (id === SESSION.id ? SESSION : undefined),
      list: () => [SESSION],
      submit: (request: SessionPromptRequest) => {
        submit(request);
        return { session: SESSION, prompt: { id: request.promptId ?? 'p_random' }, position: 0 };
      },
    },
    record: () => undefined,
  } as unknown as ExtensionContext<TelegramConfig>;
  const state = new BotState(dataDir);
  return { state, runtime: createRuntime(ctx, { api: {} } as unknown as Bot, state, new ChatOutbox(silentLogger)) };
}

test('a batch submitted again after a crash (the engine took it, the bot did not record that) is submitted with the same prompt id', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-tg-runtime-'));
  dirs.push(dir);
  const key = 'tg:111|111|';
  const stateFile = path.join(dir, 'state.json');
  let onDiskWhenSubmitted = '';
  const first: SessionPromptRequest[] = [];
  const before = runtimeOn(dir, (request) => {
    first.push(request);
    onDiskWhenSubmitted = fs.readFileSync(stateFile, 'utf8');
  });
  before.state.addPending(key, { chatId: '111', user: 'tg:111' }, '@reply hello', 10_001);
  before.runtime.flushPending(key);
  before.runtime.dispose();
  // The daemon died inside submit: the disk has the batch still pending.
  fs.writeFileSync(stateFile, onDiskWhenSubmitted);

  const again: SessionPromptRequest[] = [];
  const afterRestart = runtimeOn(dir, (request) => again.push(request));
  assert.deepEqual(afterRestart.state.pendingKeys(), [key]);
  afterRestart.runtime.flushPending(key);
  afterRestart.runtime.dispose();
  assert.equal(first.length, 1);
  assert.equal(again.length, 1);
  assert.ok(first[0]?.promptId, 'submitted with an id of its own');
  assert.equal(again[0]?.promptId, first[0]?.promptId, 'the engine recognises it and queues nothing new');
  assert.deepEqual(afterRestart.state.pendingKeys(), []);
});

import type { Bot, Context } from 'grammy';
import { isBackgroundSession, type ExtensionContext, type SessionSummary } from 'claude-ext/extension';
import { BatchWindow } from './batcher.ts';
import type { BotState } from './bot-state.ts';
import type { ChatOutbox } from './chat-outbox.ts';
import type { TelegramConfig } from './config.ts';

/** The engine user of a Telegram user. */
export function engineUser(telegramUserId: number): string {
  return `tg:${telegramUserId}`;
}

/** The user's session a message replies into (a reply to a message that session wrote), if any. */
export function threadedSession(runtime: Pick<TelegramRuntime, 'ctx' | 'state'>, c: Context): string | undefined {
  const replied = c.msg?.reply_to_message?.message_id;
  if (replied === undefined || !c.chat || !c.from) return undefined;
  const sessionId = runtime.state.sessionOfMessage(String(c.chat.id), replied);
  return sessionId && runtime.ctx.sessions.get(sessionId)?.user === engineUser(c.from.id) ? sessionId : undefined;
}

/** What the extension's parts share while it runs. */
export interface TelegramRuntime {
  readonly ctx: ExtensionContext<TelegramConfig>;
  readonly bot: Bot;
  readonly state: BotState;
  readonly outbox: ChatOutbox;
  /** The user's active session, created on first use. */
  activeSession(user: string, chatId: string): SessionSummary;
  /** Queues text from a user for their session, batched with what follows in the same chat within the window. */
  enqueue(c: Context, text: string, sessionId?: string): void;
  /** Drops what a user typed in a chat that has not been sent yet. */
  cancelPending(user: string, chatId: string): number;
  /** Which user message each submitted prompt answers, so its reply threads under it. */
  readonly replyTo: Map<string, number | undefined>;
}

/** The runtime as the extension holds it: it also sends what waited in a batch, and ends. */
export interface RunningTelegram extends TelegramRuntime {
  flushPending(key: string): void;
  dispose(): void;
}

export function createRuntime(ctx: ExtensionContext<TelegramConfig>, bot: Bot, state: BotState, outbox: ChatOutbox): RunningTelegram {
  const windows = new BatchWindow(() => ctx.config.batch_window, (key) => flushPending(key));
  const runtime = {
    ctx,
    bot,
    state,
    outbox,
    replyTo: new Map<string, number | undefined>(),
    activeSession(user: string, chatId: string): SessionSummary {
      const key = `${user}@${chatId}`;
      const active = state.activeSession(key);
      const session = active ? ctx.sessions.get(active) : undefined;
      if (session && session.user === user && session.labels.chat === chatId) return session;
      const own = ctx.sessions.list(user).filter((s) => s.labels.frontend === 'telegram' && s.labels.chat === chatId && !isBackgroundSession(s));
      const taken = new Set(ctx.sessions.list(user).map((s) => s.name));
      const name = taken.has('main') ? `main ${chatId}`.slice(0, 64) : 'main';
      const chosen = own.at(-1) ?? ctx.sessions.create({ user, name, labels: { frontend: 'telegram', chat: chatId } });
      state.setActiveSession(key, chosen.id);
      return chosen;
    },
    enqueue(c: Context, text: string, sessionId?: string): void {
      const from = c.from;
      const chatId = String(c.chat?.id ?? from?.id);
      if (!from) return;
      const user = engineUser(from.id);
      // One batch per user, chat and session: a private chat's text never joins a group's prompt.
      const key = `${user}|${chatId}|${sessionId ?? ''}`;
      state.addPending(key, { chatId, user, ...(sessionId ? { sessionId } : {}), ...(c.msg?.message_id ? { replyTo: c.msg.message_id } : {}) }, text, c.update.update_id);
      windows.touch(key);
    },
    cancelPending(user: string, chatId: string): number {
      let dropped = 0;
      for (const key of state.pendingKeys().filter((k) => k.startsWith(`${user}|`) && state.peekPending(k)?.chatId === chatId)) {
        windows.cancel(key);
        dropped += state.takePending(key)?.texts.length ?? 0;
      }
      return dropped;
    },
    flushPending,
    dispose(): void {
      windows.dispose();
      state.save();
    },
  };

  function flushPending(key: string): void {
    const batch = state.peekPending(key);
    if (!batch) return;
    const text = batch.texts.join('\n\n');
    try {
      const target = batch.sessionId ? ctx.sessions.get(batch.sessionId) : undefined;
      const session = target && target.user === batch.user ? target : runtime.activeSession(batch.user, batch.chatId);
      if (ctx.config.on_busy === 'interrupt' && session.status === 'busy') {
        void ctx.sessions.stop(session.id, { user: batch.user }).catch(() => undefined);
      }
      const submitted = ctx.sessions.submit({ user: batch.user, session: session.id, text, ...(batch.promptId ? { promptId: batch.promptId } : {}) });
      state.takePending(key);
      ctx.record('telegram_prompt', { session: session.id, prompt: submitted.prompt.id, messages: batch.texts.length });
      if (submitted.position > 0 && ctx.config.on_busy !== 'interrupt') {
        void outbox.run(batch.chatId, async () => {
          await bot.api.sendMessage(batch.chatId, `⏳ queued (position ${submitted.position})`, batch.replyTo ? { reply_parameters: { message_id: batch.replyTo, allow_sending_without_reply: true } } : {});
        });
      }
      runtime.replyTo.set(submitted.prompt.id, batch.replyTo);
    } catch (error) {
      state.takePending(key);
      void outbox.run(batch.chatId, async () => {
        await bot.api.sendMessage(batch.chatId, `⚠️ ${(error as Error).message}`);
      });
    }
  }
  return runtime;
}

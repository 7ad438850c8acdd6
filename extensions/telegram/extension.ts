import http from 'node:http';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, webhookCallback, type Context } from 'grammy';
import type { EngineEvent } from '../../core/sessions/events.ts';
import type { Extension, ExtensionContext } from '../../core/extension-host/extension-api.ts';
import { silentLogger } from '../../core/util/log.ts';
import { valuesRedactor } from '../../core/shaping/redaction.ts';
import type { SessionSummary } from '../../core/sessions/session-types.ts';
import { BatchWindow } from './batcher.ts';
import { BotState } from './bot-state.ts';
import { ChatOutbox } from './chat-outbox.ts';
import { registerCommands, TELEGRAM_COMMANDS } from './commands.ts';
import { isAllowed, telegramConfigSchema, type TelegramConfig } from './config.ts';
import { registerFileBridge, saveIncomingFile } from './files.ts';
import { markdownToTelegramHtml } from './format.ts';
import { LiveReply } from './live-reply.ts';
import { splitTelegramHtml } from './split.ts';
import { QuestionPrompts } from './question-prompts.ts';

/** The engine user of a Telegram user. */
export function engineUser(telegramUserId: number): string {
  return `tg:${telegramUserId}`;
}

/** What the extension's parts share while it runs. */
export interface TelegramRuntime {
  readonly ctx: ExtensionContext<TelegramConfig>;
  readonly bot: Bot;
  readonly state: BotState;
  readonly outbox: ChatOutbox;
  readonly questions: QuestionPrompts;
  /** The user's active session, created on first use. */
  activeSession(user: string, chatId: string): SessionSummary;
  /** Queues text from a user for their session, batched with what follows within the window. */
  enqueue(c: Context, text: string, sessionId?: string): void;
  /** Drops what a user typed that has not been sent yet. */
  cancelPending(user: string): number;
  /** Which user message each submitted prompt answers, so its reply threads under it. */
  readonly replyTo: Map<string, number | undefined>;
}

export default (): Extension<TelegramConfig> => {
  let bot: Bot | undefined;
  let webhookServer: http.Server | undefined;
  let pollingError: string | undefined;
  let polling: Promise<void> | undefined;
  let outboxes = new ChatOutbox(silentLogger);
  return {
    name: 'telegram',
    description: 'Chat with your sessions from Telegram',
    softDependencies: ['ask_user', 'vault'],
    configSchema: telegramConfigSchema,
    async start(ctx) {
      const config = ctx.config;
      ctx.markSecretEnv('TELEGRAM_BOT_TOKEN');
      ctx.addRedactor(valuesRedactor(() => [config.token]));
      const state = new BotState(ctx.dataDir);
      const outbox = new ChatOutbox(ctx.logger);
      outboxes = outbox;
      const created = new Bot(config.token, { client: { apiRoot: config.api_root } });
      bot = created;
      created.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 300 }));
      // A start that timed out is undone; the bot must not start polling when init() finishes late.
      let live = true;
      ctx.track({ dispose: () => (live = false) });
      await created.init();
      if (!live) return;

      const runtime = createRuntime(ctx, created, state, outbox);
      guardAccess(created, ctx, state);
      registerCommands(runtime);
      runtime.questions.register();
      registerMessages(runtime);
      registerFileBridge(runtime);
      followSessions(runtime);
      created.catch((error) => ctx.logger.error('a Telegram update failed', { error: (error.error as Error)?.message ?? String(error.error) }));

      await created.api.setMyCommands(TELEGRAM_COMMANDS).catch((error: Error) => ctx.logger.warn(`setMyCommands failed: ${error.message}`));
      for (const key of state.pendingKeys()) runtime.flushPending(key);

      if (config.mode === 'webhook' && config.webhook) {
        const hook = config.webhook;
        const handle = webhookCallback(created, 'http', { secretToken: hook.secret_token, onTimeout: 'return' });
        const server = http.createServer((req, res) => {
          handle(req, res).catch((error: unknown) => {
            ctx.logger.error('a Telegram update failed', { error: (error as Error).message });
            if (!res.headersSent) res.writeHead(200).end();
          });
        });
        webhookServer = server;
        ctx.track({ dispose: () => server.close() });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(hook.port, hook.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.on('error', (error) => ctx.logger.error('the webhook server failed', { error: error.message }));
        await created.api.setWebhook(hook.url, { secret_token: hook.secret_token, allowed_updates: ['message', 'callback_query'] });
        ctx.logger.info(`receiving Telegram updates on ${hook.url}`);
      } else {
        polling = created.start({ allowed_updates: ['message', 'callback_query'], drop_pending_updates: false }).catch((error: Error) => {
          pollingError = error.message;
          ctx.logger.error(`Telegram polling stopped: ${error.message}`);
        });
        ctx.logger.info(`polling Telegram as @${created.botInfo.username}`);
      }
      ctx.track({ dispose: () => runtime.dispose() });
    },
    async stop() {
      await bot?.stop().catch(() => undefined);
      await polling;
      // Answers already taken from the engine still go out (for a few seconds at most).
      await Promise.race([outboxes.drained(), new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (webhookServer) await new Promise<void>((resolve) => webhookServer?.close(() => resolve()));
    },
    healthCheck() {
      if (pollingError) return { status: 'error', reason: `polling stopped: ${pollingError}` };
      return { status: 'ok', detail: bot?.botInfo ? `@${bot.botInfo.username}` : 'starting' };
    },
  };
};

function createRuntime(ctx: ExtensionContext<TelegramConfig>, bot: Bot, state: BotState, outbox: ChatOutbox): TelegramRuntime & { flushPending(key: string): void; dispose(): void } {
  const windows = new BatchWindow(() => ctx.config.batch_window, (key) => flushPending(key));
  const runtime = {
    ctx,
    bot,
    state,
    outbox,
    questions: undefined as unknown as QuestionPrompts,
    replyTo: new Map<string, number | undefined>(),
    activeSession(user: string, chatId: string): SessionSummary {
      const key = `${user}@${chatId}`;
      const active = state.activeSession(key);
      const session = active ? ctx.engine.getSession(active) : undefined;
      if (session && session.user === user && session.labels.chat === chatId) return session;
      const own = ctx.engine.listSessions(user).filter((s) => s.labels.frontend === 'telegram' && s.labels.chat === chatId && !s.labels.cron_job && !s.labels.heartbeat);
      const taken = new Set(ctx.engine.listSessions(user).map((s) => s.name));
      const name = taken.has('main') ? `main ${chatId}`.slice(0, 64) : 'main';
      const chosen = own.at(-1) ?? ctx.engine.createSession({ user, name, labels: { frontend: 'telegram', chat: chatId } });
      state.setActiveSession(key, chosen.id);
      return chosen;
    },
    enqueue(c: Context, text: string, sessionId?: string): void {
      const from = c.from;
      const chatId = String(c.chat?.id ?? from?.id);
      if (!from) return;
      const user = engineUser(from.id);
      const key = `${user}|${sessionId ?? ''}`;
      state.addPending(key, { chatId, user, ...(sessionId ? { sessionId } : {}), ...(c.msg?.message_id ? { replyTo: c.msg.message_id } : {}) }, text, c.update.update_id);
      windows.touch(key);
    },
    cancelPending(user: string): number {
      let dropped = 0;
      for (const key of state.pendingKeys().filter((k) => k.startsWith(`${user}|`))) {
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
  runtime.questions = new QuestionPrompts(runtime);

  function flushPending(key: string): void {
    const batch = state.peekPending(key);
    if (!batch) return;
    const text = batch.texts.join('\n\n');
    try {
      const target = batch.sessionId ? ctx.engine.getSession(batch.sessionId) : undefined;
      const session = target && target.user === batch.user ? target : runtime.activeSession(batch.user, batch.chatId);
      if (ctx.config.on_busy === 'interrupt' && session.status === 'busy') {
        void ctx.engine.stop(session.id, { user: batch.user }).catch(() => undefined);
      }
      const submitted = ctx.engine.submit({ user: batch.user, session: session.id, text });
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

/** Everyone not allowed gets nothing (one polite refusal at most); every attempt is logged. */
function guardAccess(bot: Bot, ctx: ExtensionContext<TelegramConfig>, state: BotState): void {
  const refused = new Set<number>();
  bot.use(async (c, next) => {
    if (!state.isNewUpdate(c.update.update_id)) return;
    if (!isAllowed(ctx.config, c.from)) {
      ctx.logger.warn('refused a Telegram user who is not in allowed_users', { user: c.from?.id, username: c.from?.username });
      ctx.record('telegram_refused', { user: c.from?.id ?? null, username: c.from?.username ?? null });
      if (c.callbackQuery) await c.answerCallbackQuery({ text: 'Not allowed.' }).catch(() => undefined);
      else if (c.from && c.chat?.type === 'private' && !refused.has(c.from.id)) {
        refused.add(c.from.id);
        await c.reply('Sorry, this bot is private.').catch(() => undefined);
      }
      state.markUpdateHandled(c.update.update_id);
      return;
    }
    try {
      await next();
    } finally {
      state.markUpdateHandled(c.update.update_id);
    }
  });
}

function registerMessages(runtime: TelegramRuntime): void {
  const { bot, state, ctx } = runtime;
  bot.on('message', async (c) => {
    const from = c.from;
    const user = engineUser(from.id);
    const chatId = String(c.chat.id);
    const text = c.msg.text ?? c.msg.caption ?? '';
    if (c.msg.text !== undefined && runtime.questions.takeFreeText(user, chatId, c.msg.text)) return;
    const replied = c.msg.reply_to_message?.message_id;
    const threaded = replied !== undefined ? state.sessionOfMessage(chatId, replied) : undefined;
    const sessionId = threaded && ctx.engine.getSession(threaded)?.user === user ? threaded : undefined;
    if (c.msg.photo || c.msg.document) {
      const session = sessionId ? ctx.engine.getSession(sessionId) : runtime.activeSession(user, chatId);
      if (!session) return;
      try {
        const saved = await saveIncomingFile(runtime, c, session);
        runtime.enqueue(c, `[The user sent a file; it is saved at ${saved}]${text ? `\n\n${text}` : ''}`, sessionId);
      } catch (error) {
        await c.reply(`⚠️ The file could not be saved: ${(error as Error).message}`);
        if (text.trim()) runtime.enqueue(c, text, sessionId);
      }
      return;
    }
    if (!text.trim()) {
      if (c.msg.voice || c.msg.video || c.msg.audio || c.msg.video_note || c.msg.sticker) await c.reply('I can take text, photos and documents (voice, video and stickers are not supported).');
      return;
    }
    runtime.enqueue(c, text, sessionId);
  });
}

/** Streams each session's events to its chat: live message, typing indicator, final answer. */
function followSessions(runtime: TelegramRuntime): void {
  const { ctx, bot, outbox, state } = runtime;
  const replies = new Map<string, LiveReply>();
  const refreshTimers = new Map<string, NodeJS.Timeout>();
  const typing = new Map<string, NodeJS.Timeout>();
  const busyPrompts = new Map<string, Set<string>>();

  const setTyping = (chatId: string, promptId: string, on: boolean): void => {
    const set = busyPrompts.get(chatId) ?? new Set<string>();
    if (on) set.add(promptId);
    else set.delete(promptId);
    busyPrompts.set(chatId, set);
    const timer = typing.get(chatId);
    if (set.size > 0 && !timer) {
      const send = (): void => void bot.api.sendChatAction(chatId, 'typing').catch(() => undefined);
      send();
      typing.set(chatId, setInterval(send, 4500));
    } else if (set.size === 0 && timer) {
      clearInterval(timer);
      typing.delete(chatId);
    }
  };
  ctx.track({
    dispose: () => {
      for (const timer of [...typing.values(), ...refreshTimers.values()]) clearTimeout(timer);
    },
  });

  const replyFor = (session: SessionSummary, chatId: string, promptId: string): LiveReply => {
    let reply = replies.get(promptId);
    if (!reply) {
      const replyTo = runtime.replyTo.get(promptId);
      runtime.replyTo.delete(promptId);
      reply = new LiveReply({
        api: bot.api,
        chatId,
        verbosity: state.verbosity(session.user, ctx.config.verbosity),
        editIntervalMs: ctx.config.edit_interval,
        remember: (messageId) => state.rememberMessage(chatId, messageId, session.id),
        ...(replyTo ? { replyTo } : {}),
      });
      replies.set(promptId, reply);
    }
    return reply;
  };

  const scheduleRefresh = (chatId: string, promptId: string, reply: LiveReply): void => {
    if (refreshTimers.has(promptId)) return;
    const wait = Math.max(0, reply.nextEditAt() - Date.now());
    refreshTimers.set(
      promptId,
      setTimeout(() => {
        refreshTimers.delete(promptId);
        if (replies.get(promptId) === reply) void outbox.run(chatId, () => reply.refresh());
      }, wait),
    );
  };

  ctx.onEvent((event: EngineEvent) => {
    const session = ctx.engine.getSession(event.sessionId);
    if (!session || session.labels.frontend !== 'telegram' || !session.labels.chat) return;
    const chatId = session.labels.chat;
    if (session.labels.delivery === 'reports') {
      // Background work (a heartbeat run) speaks only when it has something to report, or a question.
      if (event.type === 'extension' && event.extension === 'ask_user') {
        runtime.questions.onEvent(session, chatId, event);
        return;
      }
      if (event.type === 'extension' && event.kind === 'report' && typeof event.data.text === 'string') {
        const html = markdownToTelegramHtml(event.data.text);
        void outbox.run(chatId, async () => {
          for (const part of splitTelegramHtml(html)) {
            const sent = await bot.api.sendMessage(chatId, part, { parse_mode: 'HTML' });
            state.rememberMessage(chatId, sent.message_id, session.id);
          }
        });
      }
      return;
    }
    if (event.type === 'extension') {
      runtime.questions.onEvent(session, chatId, event);
      return;
    }
    const promptId = event.promptId;
    if (!promptId) return;
    switch (event.type) {
      case 'started':
        setTyping(chatId, promptId, true);
        return;
      case 'result': {
        setTyping(chatId, promptId, false);
        const reply = replyFor(session, chatId, promptId);
        replies.delete(promptId);
        const timer = refreshTimers.get(promptId);
        if (timer) clearTimeout(timer);
        refreshTimers.delete(promptId);
        void outbox.run(chatId, () => reply.finish(event.result));
        return;
      }
      default: {
        const reply = replyFor(session, chatId, promptId);
        if (reply.absorb(event)) scheduleRefresh(chatId, promptId, reply);
      }
    }
  });
}


import http from 'node:http';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, webhookCallback } from 'grammy';
import { silentLogger, valuesRedactor, type Extension, type Logger } from 'claude-ext/extension';
import { accessGuard } from './access.ts';
import { BotState } from './bot-state.ts';
import { ChatOutbox } from './chat-outbox.ts';
import { commandsComposer, TELEGRAM_COMMANDS } from './commands.ts';
import { memoryComposer } from './memory-commands.ts';
import { telegramConfigSchema, type TelegramConfig } from './config.ts';
import { addFileTools, incomingFilesComposer } from './files.ts';
import { messagesComposer } from './messages.ts';
import { ApprovalPrompts } from './approval-prompts.ts';
import { QuestionPrompts } from './question-prompts.ts';
import { createRuntime } from './runtime.ts';
import { followSessions } from './session-follower.ts';

export default (): Extension<TelegramConfig> => {
  let bot: Bot | undefined;
  let webhookServer: http.Server | undefined;
  let pollingError: string | undefined;
  let polling: Promise<void> | undefined;
  let outboxes = new ChatOutbox(silentLogger);
  let logger: Logger = silentLogger;
  return {
    name: 'telegram',
    description: 'Chat with your sessions from Telegram',
    softDependencies: ['ask_user', 'vault', 'memory'],
    configSchema: telegramConfigSchema,
    async start(ctx) {
      logger = ctx.logger;
      const config = ctx.config;
      ctx.markSecretEnv('TELEGRAM_BOT_TOKEN');
      // The bot token belongs to no user: it is hidden in every user's text.
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
      const questions = new QuestionPrompts(runtime);
      const approvals = new ApprovalPrompts(runtime);
      created.use(accessGuard(ctx, state));
      created.use(commandsComposer(runtime));
      created.use(memoryComposer(runtime));
      created.use(questions.composer);
      created.use(approvals.composer);
      created.use(incomingFilesComposer(runtime));
      created.use(messagesComposer(runtime, questions));
      addFileTools(runtime);
      followSessions(runtime, questions, approvals);
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
      // grammY's stop confirms the last updates with one more request, which a Bot API out of reach
      // (retried without end) never answers: the updates are fetched again at the next start instead.
      const stopped = Promise.all([bot?.stop().catch(() => undefined), polling]);
      const gaveUp = await Promise.race([stopped.then(() => false), delay(3000).then(() => true)]);
      if (gaveUp) logger.warn('the Bot API did not answer while stopping; its last updates come again at the next start');
      // Calls under way get a few seconds; an answer not sent by then is handed again at the next start.
      await Promise.race([outboxes.drained(), delay(5000)]);
      if (webhookServer) await new Promise<void>((resolve) => webhookServer?.close(() => resolve()));
    },
    healthCheck() {
      if (pollingError) return { status: 'error', reason: `polling stopped: ${pollingError}` };
      return { status: 'ok', detail: bot?.botInfo ? `@${bot.botInfo.username}` : 'starting' };
    },
  };
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

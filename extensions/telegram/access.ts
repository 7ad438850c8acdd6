import { Composer, type Context } from 'grammy';
import type { ExtensionContext } from 'claude-ext/extension';
import type { BotState } from './bot-state.ts';
import { isAllowed, type TelegramConfig } from './config.ts';

/** Everyone not allowed gets nothing (one polite refusal at most); every attempt is logged. */
export function accessGuard(ctx: ExtensionContext<TelegramConfig>, state: BotState): Composer<Context> {
  const refused = new Set<number>();
  const guard = new Composer<Context>();
  guard.use(async (c, next) => {
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
  return guard;
}

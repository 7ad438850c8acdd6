import { Composer, type Context } from 'grammy';
import type { ExtensionContext } from 'claude-ext/extension';
import type { BotState } from './bot-state.ts';
import type { TelegramConfig } from './config.ts';

/** Where the accounts that usernames of `allowed_users` were bound to are kept. */
export interface UsernameBindings {
  usernameOwner(username: string): number | undefined;
  bindUsername(username: string, id: number): void;
}

export type AccessDecision =
  | { readonly allowed: true; /** A username of `allowed_users` bound to this account just now. */ readonly bound?: string }
  | { readonly allowed: false; /** A username of `allowed_users` this account has, bound to another account before. */ readonly taken?: { readonly username: string; readonly owner: number } };

/**
 * Whether a Telegram account may use the bot: by its numeric id, or by a username of `allowed_users`.
 * A username is bound to the account that has it at first contact; from then on only that account gets
 * in by it (also after renaming itself), so whoever registers the name later does not.
 */
export function decideAccess(config: Pick<TelegramConfig, 'allow_all' | 'allowed_users'>, bindings: UsernameBindings, user: { id: number; username?: string | undefined } | undefined): AccessDecision {
  if (!user) return { allowed: false };
  if (config.allow_all) return { allowed: true };
  const ids = new Set<number>();
  const usernames = new Set<string>();
  for (const entry of config.allowed_users) {
    if (typeof entry === 'number') ids.add(entry);
    else if (/^\d+$/.test(entry)) ids.add(Number(entry));
    else usernames.add(entry.replace(/^@/, '').toLowerCase());
  }
  const username = user.username?.toLowerCase();
  const listed = username !== undefined && usernames.has(username);
  // Bound at the first contact of anyone who has the name, also an account allowed by its id.
  const bound = listed && bindings.usernameOwner(username) === undefined ? username : undefined;
  if (bound) bindings.bindUsername(bound, user.id);
  if (ids.has(user.id) || [...usernames].some((name) => bindings.usernameOwner(name) === user.id)) return { allowed: true, ...(bound ? { bound } : {}) };
  const owner = listed ? bindings.usernameOwner(username) : undefined;
  return owner === undefined || !username ? { allowed: false } : { allowed: false, taken: { username, owner } };
}

/** Everyone not allowed gets nothing (one polite refusal at most); every attempt is logged. */
export function accessGuard(ctx: ExtensionContext<TelegramConfig>, state: BotState): Composer<Context> {
  const refused = new Set<number>();
  const guard = new Composer<Context>();
  guard.use(async (c, next) => {
    if (!state.isNewUpdate(c.update.update_id)) return;
    const decision = decideAccess(ctx.config, state, c.from);
    if (decision.allowed && decision.bound) {
      ctx.logger.info(`@${decision.bound} of allowed_users is now the Telegram account ${c.from?.id} (first contact); another account taking the name later is refused`);
      ctx.record('telegram_username_bound', { username: decision.bound, user: c.from?.id ?? null });
    }
    if (!decision.allowed) {
      if (decision.taken) {
        ctx.logger.warn(`refused the Telegram account ${c.from?.id}: @${decision.taken.username} of allowed_users belongs to the account ${decision.taken.owner}, which had the name first`);
      } else {
        ctx.logger.warn('refused a Telegram user who is not in allowed_users', { user: c.from?.id, username: c.from?.username });
      }
      ctx.record('telegram_refused', { user: c.from?.id ?? null, username: c.from?.username ?? null, ...(decision.taken ? { bound_to: decision.taken.owner } : {}) });
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

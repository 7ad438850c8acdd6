import { z } from 'zod';
import { duration } from 'claude-ext/extension';

export const verbosityLevels = ['quiet', 'tools', 'all'] as const;
export type Verbosity = (typeof verbosityLevels)[number];

export const telegramConfigSchema = z
  .strictObject({
    /** The bot's token from @BotFather; write it as ${TELEGRAM_BOT_TOKEN} and keep it in .env. */
    token: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'not a bot token (expected 123456:ABC...)'),
    /**
     * Telegram user ids or @usernames allowed to use the bot (a username is bound to the account that
     * has it at first contact). Required unless allow_all is true.
     */
    allowed_users: z.array(z.union([z.number().int(), z.string().min(1)])).default([]),
    /** Lets anyone who finds the bot use it (and your Claude account). */
    allow_all: z.boolean().default(false),
    /** Where the Bot API lives: Telegram's, or a self-hosted Bot API server. */
    api_root: z.url().default('https://api.telegram.org'),
    mode: z.enum(['polling', 'webhook']).default('polling'),
    webhook: z
      .strictObject({
        /** The public HTTPS URL Telegram posts updates to. */
        url: z.url(),
        /** Checked on every update (X-Telegram-Bot-Api-Secret-Token). */
        secret_token: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16-256 letters, digits, _ or -'),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(8443),
      })
      .optional(),
    /** Messages sent within this time of each other become one prompt. */
    batch_window: duration.default(2000),
    /** A message while the session works: queue it, or interrupt the running turn and go next. */
    on_busy: z.enum(['queue', 'interrupt']).default('queue'),
    /** How much tool activity replies show, until a user changes it with /verbose. */
    verbosity: z.enum(verbosityLevels).default('tools'),
    /** Least time between two edits of a streaming message. */
    edit_interval: duration.default(1000),
    /** Folder under the session's working directory where received files are saved. */
    uploads_dir: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a folder name').default('telegram-uploads'),
  })
  .refine((c) => c.allow_all || c.allowed_users.length > 0, {
    message: 'allowed_users is empty: list the Telegram user ids or @usernames that may use the bot (or set allow_all: true to open it to anyone)',
    path: ['allowed_users'],
  })
  .refine((c) => c.mode !== 'webhook' || c.webhook !== undefined, { message: 'mode webhook needs webhook.url and webhook.secret_token', path: ['webhook'] });

export type TelegramConfig = z.output<typeof telegramConfigSchema>;

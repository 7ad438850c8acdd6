import os from 'node:os';
import path from 'node:path';
import { Composer, InlineKeyboard, type CommandContext, type Context } from 'grammy';
import { describeUsage, type SessionSummary } from 'claude-ext/extension';
import { verbosityLevels, type Verbosity } from './config.ts';
import type { TelegramRuntime } from './runtime.ts';
import { escapeHtml } from './format.ts';
import { sessionListHtml } from './session-list.ts';

export const TELEGRAM_COMMANDS = [
  { command: 'new', description: 'New session: /new [template] [name] [dir]' },
  { command: 'sessions', description: 'Your sessions, with buttons to switch' },
  { command: 'switch', description: 'Switch to a session: /switch name' },
  { command: 'stop', description: 'Stop the running turn' },
  { command: 'delete', description: 'Delete a session: /delete name' },
  { command: 'rename', description: 'Rename the active session: /rename name' },
  { command: 'status', description: 'Daemon, extensions, this session, usage' },
  { command: 'verbose', description: 'Tool activity shown: quiet, tools or all' },
  { command: 'cancel', description: 'Drop what you typed that was not sent yet' },
  { command: 'vault', description: 'Your secrets: /vault list | set KEY VALUE | delete KEY' },
  { command: 'memory', description: 'Search your memory: /memory words' },
  { command: 'remember', description: 'Keep a line in your memory: /remember text' },
  { command: 'help', description: 'What this bot does' },
];

const HELP = [
  'Messages go to your active session (created on first use); a reply to one of my messages goes to the session that wrote it.',
  'Send photos or documents: they are saved in the session\'s working directory and Claude is told where.',
  '',
  ...TELEGRAM_COMMANDS.map((c) => `/${c.command} — ${c.description}`),
].join('\n');

/** The part of the vault service this extension uses (found by name; extensions never import each other). */
interface VaultAccess {
  set(user: string, key: string, value: string): void;
  delete(user: string, key: string): boolean;
  list(user: string): Array<{ key: string; tags: string[] }>;
}

/** The bot's slash commands and the session-switch buttons. */
export function commandsComposer(runtime: TelegramRuntime): Composer<Context> {
  const { ctx, state } = runtime;
  const bot = new Composer<Context>();
  const userOf = (c: Context): string => `tg:${c.from?.id ?? 0}`;
  const chatOf = (c: Context): string => String(c.chat?.id ?? c.from?.id ?? 0);
  /** Each chat has its own active session: a private chat never answers into a group. */
  const activeKey = (c: Context): string => `${userOf(c)}@${chatOf(c)}`;
  const chatSessions = (c: Context): SessionSummary[] => own(c).filter((s) => s.labels.chat === chatOf(c));
  const reply = (c: Context, html: string, extra: { reply_markup?: InlineKeyboard } = {}) => c.reply(html, { parse_mode: 'HTML', ...extra });
  const own = (c: Context): SessionSummary[] => ctx.sessions.list(userOf(c));
  const byName = (c: Context, name: string): SessionSummary | undefined => chatSessions(c).find((s) => s.name === name || s.id === name) ?? own(c).find((s) => s.name === name || s.id === name);
  const guarded = (handler: (c: CommandContext<Context>) => Promise<unknown>) => async (c: CommandContext<Context>) => {
    try {
      await handler(c);
    } catch (error) {
      await c.reply(`⚠️ ${(error as Error).message}`);
    }
  };

  bot.command(['start', 'help'], guarded((c) => c.reply(HELP)));

  bot.command(
    'new',
    guarded(async (c) => {
      const words = c.match.split(/\s+/).filter(Boolean);
      const templates = new Set(ctx.listTemplates().map((t) => t.name));
      const template = words[0] && templates.has(words[0]) ? words.shift() : undefined;
      const [name, dir] = words;
      const cwd = dir ? path.resolve(ctx.sessions.defaultCwd, dir.replace(/^~(?=$|\/)/, os.homedir())) : undefined;
      const session = ctx.sessions.create({
        user: userOf(c),
        ...(name ? { name } : {}),
        ...(cwd ? { cwd } : {}),
        ...(template ? { template } : {}),
        labels: { frontend: 'telegram', chat: chatOf(c) },
      });
      state.setActiveSession(activeKey(c), session.id);
      await reply(c, `🆕 <b>${escapeHtml(session.name)}</b>${template ? ` (${escapeHtml(template)})` : ''} in <code>${escapeHtml(session.cwd)}</code> — messages go here now.`);
    }),
  );

  bot.command(
    'sessions',
    guarded(async (c) => {
      const sessions = chatSessions(c);
      if (sessions.length === 0) return c.reply('No sessions in this chat yet: send a message, or /new.');
      const active = state.activeSession(activeKey(c));
      const keyboard = new InlineKeyboard();
      for (const s of sessions) keyboard.text(`${s.id === active ? '● ' : ''}${s.name}`, `sw:${s.id}`).row();
      return reply(c, sessionListHtml(sessions, own(c), active), { reply_markup: keyboard });
    }),
  );

  bot.callbackQuery(/^sw:(.+)$/, async (c) => {
    const sessionId = c.match[1] ?? '';
    const session = ctx.sessions.get(sessionId);
    if (!session || session.user !== userOf(c)) {
      await c.answerCallbackQuery({ text: 'No such session.' });
      return;
    }
    state.setActiveSession(activeKey(c), session.id);
    await c.answerCallbackQuery({ text: `Now talking to ${session.name}` });
  });

  bot.command(
    'switch',
    guarded(async (c) => {
      const session = byName(c, c.match.trim());
      if (!session) return c.reply(`No session named “${c.match.trim()}”. /sessions lists yours.`);
      state.setActiveSession(activeKey(c), session.id);
      return reply(c, `➡️ Now talking to <b>${escapeHtml(session.name)}</b>.`);
    }),
  );

  bot.command(
    'stop',
    guarded(async (c) => {
      const session = c.match.trim() ? byName(c, c.match.trim()) : runtime.activeSession(userOf(c), chatOf(c));
      if (!session) return c.reply('No such session.');
      const result = await ctx.sessions.stop(session.id, { user: userOf(c) });
      return c.reply(result.interruptedPromptId ? `⏹ Stopping ${session.name}…` : `Nothing is running in ${session.name}.`);
    }),
  );

  bot.command(
    'delete',
    guarded(async (c) => {
      const name = c.match.trim();
      const session = name ? byName(c, name) : undefined;
      if (!session) return c.reply('Usage: /delete name (see /sessions)');
      await ctx.sessions.delete(session.id);
      if (state.activeSession(activeKey(c)) === session.id) state.setActiveSession(activeKey(c), undefined);
      return reply(c, `🗑 Deleted <b>${escapeHtml(session.name)}</b>.`);
    }),
  );

  bot.command(
    'rename',
    guarded(async (c) => {
      const name = c.match.trim();
      if (!name) return c.reply('Usage: /rename new-name');
      const renamed = ctx.sessions.rename(runtime.activeSession(userOf(c), chatOf(c)).id, name);
      return reply(c, `✏️ Renamed to <b>${escapeHtml(renamed.name)}</b>.`);
    }),
  );

  bot.command(
    'status',
    guarded(async (c) => {
      const counts = ctx.sessions.counts();
      const health = await ctx.extensionsHealth();
      const active = state.activeSession(activeKey(c));
      const session = active ? ctx.sessions.get(active) : undefined;
      const usage = await ctx.usage.current();
      const today = new Date().toISOString().slice(0, 10);
      const spent = ctx.usage.costs({ user: userOf(c), days: 1 }).find((cost) => cost.day === today);
      const lines = [
        `<b>daemon</b>: ${counts.busy ?? 0} busy, ${counts.idle ?? 0} idle, ${counts.queued ?? 0} queued`,
        `<b>extensions</b>: ${health.map((h) => `${escapeHtml(h.name)} ${h.health.status === 'ok' ? '✅' : `⚠️ ${escapeHtml('reason' in h.health ? h.health.reason : '')}`}`).join(', ') || 'none'}`,
        session
          ? `<b>${escapeHtml(session.name)}</b>: ${session.status}, ${session.counters.prompts} prompts, ${session.counters.turns} turns, $${session.counters.costUsd.toFixed(4)}`
          : 'no active session',
        `<b>usage</b>: ${escapeHtml(describeUsage(usage))}`,
        `<b>today</b> (UTC): $${(spent?.costUsd ?? 0).toFixed(4)} over ${spent?.prompts ?? 0} prompt${spent?.prompts === 1 ? '' : 's'}`,
      ];
      return reply(c, lines.join('\n'));
    }),
  );

  bot.command(
    'verbose',
    guarded(async (c) => {
      const level = c.match.trim() as Verbosity;
      if (!verbosityLevels.includes(level)) {
        return c.reply(`Tool activity shown: ${state.verbosity(userOf(c), ctx.config.verbosity)}. Use /verbose quiet, /verbose tools or /verbose all.`);
      }
      state.setVerbosity(userOf(c), level);
      return c.reply(`Tool activity shown from now on: ${level}.`);
    }),
  );

  bot.command(
    'vault',
    guarded(async (c) => {
      const vault = ctx.services.find<VaultAccess>('vault');
      if (!vault) return c.reply('The vault extension is not running.');
      const [sub, key, ...rest] = c.match.split(/\s+/).filter(Boolean);
      const user = userOf(c);
      if (sub === 'list' || sub === undefined) {
        const entries = vault.list(user);
        return reply(c, entries.length ? entries.map((e) => `🔑 <code>${escapeHtml(e.key)}</code>${e.tags.length ? ` [${escapeHtml(e.tags.join(', '))}]` : ''}`).join('\n') : 'Your vault is empty.');
      }
      if (sub === 'set' && key && rest.length > 0) {
        vault.set(user, key, rest.join(' '));
        // The value should not stay readable in the chat.
        const deleted = await c.deleteMessage().then(() => true, () => false);
        return reply(c, `🔐 Stored <code>${escapeHtml(key)}</code>.${deleted ? ' Your message with the value was deleted.' : ' Delete your message with the value.'}`);
      }
      if (sub === 'delete' && key) return c.reply(vault.delete(user, key) ? `Deleted ${key}.` : `There was no ${key}.`);
      return c.reply('Usage: /vault list | /vault set KEY VALUE | /vault delete KEY');
    }),
  );

  bot.command(
    'cancel',
    guarded(async (c) => {
      const dropped = runtime.cancelPending(userOf(c), chatOf(c));
      return c.reply(dropped > 0 ? `Dropped ${dropped} message${dropped === 1 ? '' : 's'} not sent yet.` : 'Nothing to cancel.');
    }),
  );
  return bot;
}

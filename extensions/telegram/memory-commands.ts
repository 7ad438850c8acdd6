import { Composer, type Context } from 'grammy';
import type { TelegramRuntime } from './runtime.ts';
import { escapeHtml } from './format.ts';

/** The part of the memory service this extension uses (found by name; extensions never import each other). */
interface MemoryAccess {
  search(user: string, query: string, limit?: number): Array<{ path: string; title: string; lines: Array<{ line: number; text: string }> }>;
  remember(user: string, text: string): { path: string };
}

/** `/memory QUERY` searches the person's notes; `/remember TEXT` keeps a line in them. */
export function memoryComposer(runtime: TelegramRuntime): Composer<Context> {
  const { ctx } = runtime;
  const bot = new Composer<Context>();
  const userOf = (c: Context): string => `tg:${c.from?.id ?? 0}`;
  const memory = (): MemoryAccess | undefined => ctx.services.find<MemoryAccess>('memory');

  bot.command('memory', async (c) => {
    const service = memory();
    if (!service) return c.reply('The memory extension is not running.');
    const query = c.match.trim();
    if (!query) return c.reply('Usage: /memory words to look for');
    try {
      const results = service.search(userOf(c), query, 5);
      if (results.length === 0) return c.reply(`Nothing in your memory matches “${query}”.`);
      const text = results
        .map((r) => [`📝 <b>${escapeHtml(r.title)}</b> <code>${escapeHtml(r.path)}</code>`, ...r.lines.slice(0, 3).map((l) => `  ${l.line}: ${escapeHtml(l.text.slice(0, 160))}`)].join('\n'))
        .join('\n\n');
      return c.reply(text, { parse_mode: 'HTML' });
    } catch (error) {
      return c.reply(`⚠️ ${(error as Error).message}`);
    }
  });

  bot.command('remember', async (c) => {
    const service = memory();
    if (!service) return c.reply('The memory extension is not running.');
    const text = c.match.trim();
    if (!text) return c.reply('Usage: /remember something to keep');
    try {
      const saved = service.remember(userOf(c), text);
      return c.reply(`🧠 Kept in ${saved.path}.`);
    } catch (error) {
      return c.reply(`⚠️ ${(error as Error).message}`);
    }
  });
  return bot;
}

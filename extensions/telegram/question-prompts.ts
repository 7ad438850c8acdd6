import { Composer, InlineKeyboard, type Context } from 'grammy';
import type { EngineEvent, SessionSummary } from 'claude-ext/extension';
import type { TelegramRuntime } from './runtime.ts';
import { escapeHtml } from './format.ts';

/** The part of the ask_user service this extension uses (found by name; extensions never import each other). */
interface QuestionAnswering {
  answer(id: string, text: string, user: string): { ok: true } | { ok: false; reason: string };
  list(user?: string): Array<{ id: string; question: string; options: readonly string[] }>;
}

interface ShownQuestion {
  readonly chatId: string;
  readonly messageId: number;
  readonly question: string;
  readonly options: readonly string[];
  readonly user: string;
}

type ExtensionEvent = Extract<EngineEvent, { type: 'extension' }>;

/**
 * ask_user questions in Telegram: buttons for the options plus "Other…" for free text; without
 * options the user's next message to the chat answers. A pressed button is acknowledged and the
 * question message shows the choice.
 */
export class QuestionPrompts {
  private readonly shown = new Map<string, ShownQuestion>();
  /** `<user>|<chat>` → the questions typed text answers, oldest first. */
  private readonly awaitingText = new Map<string, string[]>();
  /** Questions that closed before their message was sent. */
  private readonly closedEarly = new Map<string, Readonly<Record<string, unknown>>>();

  /** The buttons of shown questions. */
  readonly composer = new Composer<Context>();

  constructor(private readonly runtime: Pick<TelegramRuntime, 'ctx' | 'bot' | 'outbox'>) {
    this.composer.callbackQuery(/^q:([A-Za-z0-9_-]+):(\d+|other)$/, async (c) => {
      const [, id = '', choice = ''] = c.match;
      const user = `tg:${c.from.id}`;
      const chatId = String(c.chat?.id ?? c.from.id);
      // After a reload only ask_user still knows the question: its options come from there.
      const shown = this.shown.get(id) ?? this.service()?.list(user).find((q) => q.id === id);
      if (choice === 'other') {
        this.wait(`${user}|${chatId}`, id);
        await c.answerCallbackQuery({ text: 'Type your answer' });
        await c.reply(`✍️ Type your answer to: ${shown?.question ?? 'the question'}`);
        return;
      }
      const option = shown?.options[Number(choice)];
      if (option === undefined) {
        await c.answerCallbackQuery({ text: 'That question is gone.' });
        return;
      }
      const result = this.answer(id, option, user);
      await c.answerCallbackQuery({ text: result.ok ? `Answered: ${option}` : result.reason.slice(0, 190) });
    });
  }

  /** A message from a user: when a question waits for typed text, it is the answer. */
  takeFreeText(user: string, chatId: string, text: string): boolean {
    const key = `${user}|${chatId}`;
    const waiting = this.awaitingText.get(key) ?? [];
    const id = waiting[0];
    if (!id || text.startsWith('/')) return false;
    this.unwait(id);
    const result = this.answer(id, text, user);
    if (!result.ok) void this.send(chatId, `⚠️ ${result.reason}`);
    return true;
  }

  onEvent(session: SessionSummary, chatId: string, event: ExtensionEvent): void {
    if (event.extension !== 'ask_user') return;
    const id = String(event.data.id ?? '');
    if (event.kind === 'question') this.show(session, chatId, id, event.data);
    else if (event.kind === 'question_closed') this.closed(id, event.data);
  }

  private show(session: SessionSummary, chatId: string, id: string, data: Readonly<Record<string, unknown>>): void {
    const question = String(data.question ?? '');
    const options = Array.isArray(data.options) ? data.options.map(String) : [];
    const keyboard = new InlineKeyboard();
    options.forEach((option, index) => keyboard.text(option.slice(0, 60), `q:${id}:${index}`).row());
    keyboard.text('Other…', `q:${id}:other`);
    if (options.length === 0) this.wait(`${session.user}|${chatId}`, id);
    void this.runtime.outbox.run(chatId, async () => {
      const text = `❓ <b>${escapeHtml(session.name)} asks:</b>\n${escapeHtml(question)}${options.length === 0 ? '\n\n<i>Reply with your answer.</i>' : ''}`;
      const sent = await this.runtime.bot.api.sendMessage(chatId, text, { parse_mode: 'HTML', ...(options.length > 0 ? { reply_markup: keyboard } : {}) });
      this.shown.set(id, { chatId, messageId: sent.message_id, question, options, user: session.user });
      const early = this.closedEarly.get(id);
      if (early) {
        this.closedEarly.delete(id);
        this.closed(id, early);
      }
    });
  }

  private closed(id: string, data: Readonly<Record<string, unknown>>): void {
    this.unwait(id);
    const shown = this.shown.get(id);
    if (!shown) {
      this.closedEarly.set(id, data);
      return;
    }
    this.shown.delete(id);
    const status = String(data.status ?? '');
    const outcome = status === 'answered' ? `✅ ${escapeHtml(String(data.answer ?? ''))}` : status === 'timeout' ? '⏱ no answer in time' : '✖ cancelled';
    void this.runtime.outbox.run(shown.chatId, async () => {
      await this.runtime.bot.api
        .editMessageText(shown.chatId, shown.messageId, `❓ ${escapeHtml(shown.question)}\n${outcome}`, { parse_mode: 'HTML', reply_markup: new InlineKeyboard() })
        .catch(() => undefined);
    });
  }

  private answer(id: string, text: string, user: string): { ok: true } | { ok: false; reason: string } {
    const service = this.service();
    if (!service) return { ok: false, reason: 'the ask_user extension is not running' };
    return service.answer(id, text, user);
  }

  private service(): QuestionAnswering | undefined {
    return this.runtime.ctx.services.find<QuestionAnswering>('ask_user');
  }

  private wait(key: string, id: string): void {
    const list = this.awaitingText.get(key) ?? [];
    if (!list.includes(id)) list.push(id);
    this.awaitingText.set(key, list);
  }

  private unwait(id: string): void {
    for (const [key, list] of this.awaitingText) {
      const rest = list.filter((waiting) => waiting !== id);
      if (rest.length > 0) this.awaitingText.set(key, rest);
      else this.awaitingText.delete(key);
    }
  }

  private send(chatId: string, text: string): Promise<void> {
    return this.runtime.outbox.run(chatId, async () => {
      await this.runtime.bot.api.sendMessage(chatId, text);
    });
  }
}

import { GrammyError, type Api } from 'grammy';
import type { EngineEvent, TurnResult } from 'claude-ext/extension';
import type { Verbosity } from './config.ts';
import { escapeHtml, markdownToTelegramHtml } from './format.ts';
import { plainTextFallback, splitPlain, splitTelegramHtml } from './split.ts';

/** A streaming message is continued in a new one before it gets near Telegram's 4096 limit. */
const LIVE_LIMIT = 3500;

/** What a message of a reply shows from its creation until the reply puts its part in it. */
const PLACEHOLDER = '…';

export interface LiveReplyOptions {
  readonly api: Api;
  readonly chatId: string;
  readonly verbosity: Verbosity;
  readonly editIntervalMs: number;
  /** Messages of this reply, remembered so a reply to one of them reaches the same session. */
  readonly remember: (messageId: number) => void;
  /** The messages this reply was shown in before (by the daemon before a restart): they are edited, not sent again. */
  readonly messageIds?: readonly number[];
  /** Records the reply's messages; called when they change, and must be on disk when it returns. */
  readonly recordMessages: (messageIds: number[]) => void;
  /** The message this answers (the user's prompt), for threading. */
  readonly replyTo?: number;
}

/**
 * One prompt's answer in one chat: a live message edited as text arrives (throttled), continued
 * in a new message before the limit, replaced at the end by the formatted answer and a footer.
 * Every method is meant to be called through the chat's outbox, one at a time.
 *
 * Telegram cannot tell a message sent twice from two messages, so text is only ever put into a
 * message by editing it: a new message starts as a placeholder, and is recorded before it is filled.
 * A reply handed again after a crash edits the recorded messages, and the chat shows the answer once.
 */
export class LiveReply {
  private text = '';
  private readonly toolLines: string[] = [];
  private partialBlock = false;
  private readonly messages: Array<{ id: number; shown: string | undefined }>;
  private lastEditAt = 0;
  private dirty = false;

  constructor(private readonly options: LiveReplyOptions) {
    this.messages = (options.messageIds ?? []).map((id) => ({ id, shown: undefined }));
  }

  /** Takes an event; returns true when the live message should be refreshed. */
  absorb(event: EngineEvent): boolean {
    switch (event.type) {
      case 'text':
        if (event.partial) {
          this.partialBlock = true;
          this.text += event.text;
        } else if (this.partialBlock) {
          this.partialBlock = false;
          this.text += '\n\n';
        } else {
          this.text += `${event.text}\n\n`;
        }
        this.dirty = true;
        return true;
      case 'tool_use':
        if (this.options.verbosity === 'quiet') return false;
        this.toolLines.push(`⚙ ${event.name}${this.options.verbosity === 'all' ? ` ${summarize(event.input)}` : ''}`);
        this.dirty = true;
        return true;
      case 'tool_result':
        if (this.options.verbosity !== 'all' || !event.isError) return false;
        this.toolLines.push(`✗ ${summarize(event.content)}`);
        this.dirty = true;
        return true;
      default:
        return false;
    }
  }

  /** When the next edit may be sent. */
  nextEditAt(): number {
    return this.lastEditAt + this.options.editIntervalMs;
  }

  /** Shows what has arrived so far as plain text (Markdown is rendered once, at the end). */
  async refresh(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    this.lastEditAt = Date.now();
    const tools = this.toolLines.slice(-8).join('\n');
    const body = `${this.text.trim()}${tools ? `\n\n${tools}` : ''}`.trim() || '…';
    const parts = splitPlain(body, LIVE_LIMIT);
    for (let i = 0; i < parts.length; i++) await this.show(i, escapeHtml(`${parts[i] ?? ''}${i === parts.length - 1 ? ' ▍' : ''}`), 'HTML');
  }

  /** The final answer: formatted, split at safe points, with the cost and turns at the end. */
  async finish(result: TurnResult): Promise<void> {
    const answer = this.text.trim() || (result.outcome === 'success' ? result.text.trim() : '');
    const footer = footerOf(result);
    const html = `${answer ? markdownToTelegramHtml(answer) : ''}${answer ? '\n\n' : ''}${footer}`;
    const parts = splitTelegramHtml(html);
    for (let i = 0; i < parts.length; i++) await this.show(i, parts[i] ?? '', 'HTML');
    const extras = this.messages.splice(parts.length);
    for (const extra of extras) await this.options.api.deleteMessage(this.options.chatId, extra.id).catch(() => undefined);
    if (extras.length > 0) this.record();
  }

  /** Puts `text` into the i-th message of this reply: edits it, creating it first when it does not exist yet. */
  private async show(index: number, text: string, parseMode: 'HTML'): Promise<void> {
    if (this.messages[index]?.shown === text) return;
    try {
      await this.put(index, text, parseMode);
    } catch (error) {
      if (!(error instanceof GrammyError) || error.error_code !== 400) throw error;
      if (/not modified/i.test(error.description)) {
        const message = this.messages[index];
        if (message) message.shown = text;
        return;
      }
      if (/message to edit not found|message can't be edited/i.test(error.description)) {
        // The user deleted the message: continue in a new one.
        this.messages.splice(index, 1);
        this.record();
        await this.put(index, text, parseMode);
        return;
      }
      // Telegram refused the formatting: say it in plain text rather than not at all.
      await this.put(index, plainTextFallback(text).slice(0, 4096), undefined);
    }
  }

  private async put(index: number, text: string, parseMode: 'HTML' | undefined): Promise<void> {
    const message = this.messages[index] ?? (await this.create(index));
    if (message.shown === text) return;
    await this.options.api.editMessageText(this.options.chatId, message.id, text, parseMode ? { parse_mode: parseMode } : {});
    message.shown = text;
  }

  private async create(index: number): Promise<{ id: number; shown: string | undefined }> {
    const sent = await this.options.api.sendMessage(
      this.options.chatId,
      PLACEHOLDER,
      index === 0 && this.options.replyTo ? { reply_parameters: { message_id: this.options.replyTo, allow_sending_without_reply: true } } : {},
    );
    const message = { id: sent.message_id, shown: PLACEHOLDER };
    this.messages[index] = message;
    this.record();
    this.options.remember(sent.message_id);
    return message;
  }

  private record(): void {
    this.options.recordMessages(this.messages.map((m) => m.id));
  }
}

export function footerOf(result: TurnResult): string {
  const stats = `— $${result.costUsd.toFixed(4)} · ${result.numTurns} turn${result.numTurns === 1 ? '' : 's'} · ${(result.durationMs / 1000).toFixed(1)} s`;
  const outcome =
    result.outcome === 'success'
      ? ''
      : result.outcome === 'stopped'
        ? '⏹ stopped\n'
        : result.outcome === 'timeout'
          ? '⏱ timed out\n'
          : `⚠️ ${result.outcome}: ${escapeHtml(result.text.slice(0, 500))}\n`;
  return `${outcome}<i>${escapeHtml(stats)}</i>`;
}

function summarize(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const line = (text ?? '').replace(/\s+/g, ' ');
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

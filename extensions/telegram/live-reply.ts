import { GrammyError, type Api } from 'grammy';
import type { EngineEvent, TurnResult } from 'claude-ext/extension';
import type { Verbosity } from './config.ts';
import { escapeHtml, markdownToTelegramHtml } from './format.ts';
import { plainTextFallback, splitPlain, splitTelegramHtml } from './split.ts';

/** A streaming message is continued in a new one before it gets near Telegram's 4096 limit. */
const LIVE_LIMIT = 3500;

export interface LiveReplyOptions {
  readonly api: Api;
  readonly chatId: string;
  readonly verbosity: Verbosity;
  readonly editIntervalMs: number;
  /** Messages of this reply, remembered so a reply to one of them reaches the same session. */
  readonly remember: (messageId: number) => void;
  /** The message this answers (the user's prompt), for threading. */
  readonly replyTo?: number;
}

/**
 * One prompt's answer in one chat: a live message edited as text arrives (throttled), continued
 * in a new message before the limit, replaced at the end by the formatted answer and a footer.
 * Every method is meant to be called through the chat's outbox, one at a time.
 */
export class LiveReply {
  private text = '';
  private readonly toolLines: string[] = [];
  private partialBlock = false;
  private readonly messages: Array<{ id: number; shown: string }> = [];
  private lastEditAt = 0;
  private dirty = false;

  constructor(private readonly options: LiveReplyOptions) {}

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
    for (const extra of this.messages.splice(parts.length)) {
      await this.options.api.deleteMessage(this.options.chatId, extra.id).catch(() => undefined);
    }
  }

  /** Puts `text` into the i-th message of this reply: edits it, or sends it when it does not exist yet. */
  private async show(index: number, text: string, parseMode: 'HTML'): Promise<void> {
    const existing = this.messages[index];
    if (existing?.shown === text) return;
    try {
      await this.put(index, text, parseMode);
    } catch (error) {
      if (!(error instanceof GrammyError) || error.error_code !== 400) throw error;
      if (/not modified/i.test(error.description)) return;
      if (/message to edit not found|message can't be edited/i.test(error.description)) {
        // The user deleted the message: continue in a new one.
        this.messages.splice(index, 1);
        await this.put(index, text, parseMode);
        return;
      }
      // Telegram refused the formatting: say it in plain text rather than not at all.
      await this.put(index, plainTextFallback(text).slice(0, 4096), undefined);
    }
  }

  private async put(index: number, text: string, parseMode: 'HTML' | undefined): Promise<void> {
    const existing = this.messages[index];
    const options = parseMode ? { parse_mode: parseMode } : {};
    if (existing) {
      await this.options.api.editMessageText(this.options.chatId, existing.id, text, options);
      existing.shown = text;
      return;
    }
    const sent = await this.options.api.sendMessage(this.options.chatId, text, {
      ...options,
      ...(index === 0 && this.options.replyTo ? { reply_parameters: { message_id: this.options.replyTo, allow_sending_without_reply: true } } : {}),
    });
    this.messages[index] = { id: sent.message_id, shown: text };
    this.options.remember(sent.message_id);
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

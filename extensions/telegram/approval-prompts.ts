import { Composer, InlineKeyboard, type Context } from 'grammy';
import { headAndTail, visibleText, type ApprovalAnswer, type EngineEvent, type SessionSummary } from 'claude-ext/extension';
import { escapeHtml } from './format.ts';
import { engineUser, type TelegramRuntime } from './runtime.ts';

type Requested = Extract<EngineEvent, { type: 'approval_requested' }>;
type Resolved = Extract<EngineEvent, { type: 'approval_resolved' }>;

type Choice = 'once' | 'session' | 'always' | 'deny';

/** What each button answers. "For this session" and "always" store the patterns the message showed: the approval's own. */
const ANSWERS: Readonly<Record<Choice, ApprovalAnswer>> = {
  once: { decision: 'allow', scope: 'once' },
  session: { decision: 'allow', scope: 'session' },
  always: { decision: 'allow', scope: 'always' },
  deny: { decision: 'deny' },
};

const PRESSED: Readonly<Record<Choice, string>> = { once: 'Allowed once', session: 'Allowed for this session', always: 'Always allowed', deny: 'Denied' };

/** Telegram's limit on a message's text, counted after HTML escaping. */
const MAX_MESSAGE_CHARS = 4096;
/** Kept free in the message for the line the decision adds to it later. */
const DECISION_ROOM = 400;
/** Longest input excerpt tried first; shortened until the message fits. */
const MAX_INPUT_CHARS = 2400;
/** Longest pattern shown (an exact command can be long); the rest is cut in the middle. */
const MAX_PATTERN_CHARS = 300;

/**
 * Tool calls waiting for approval, in the chat of their session: what the call would do and buttons to
 * allow it once, for the session, always (the rule shown before it is saved), or deny it. Only the
 * session's own user may press them; once answered, by whomever, the message says how and the buttons go.
 */
export class ApprovalPrompts {
  /** Approvals whose message is being sent. */
  private readonly sending = new Set<string>();
  /** Approvals resolved before their message was sent. */
  private readonly resolvedEarly = new Map<string, Resolved>();

  readonly composer = new Composer<Context>();

  constructor(private readonly runtime: Pick<TelegramRuntime, 'ctx' | 'bot' | 'outbox' | 'state'>) {
    this.composer.callbackQuery(/^ap:(ap_[a-z0-9]+):(once|session|always|deny)$/, async (c) => {
      const [, id = '', choice = 'deny'] = c.match;
      const user = engineUser(c.from.id);
      try {
        await this.runtime.ctx.approvals.answer(id, ANSWERS[choice as Choice], user);
      } catch (error) {
        this.runtime.ctx.record('telegram_approval_refused', { approval: id, user });
        await c.answerCallbackQuery({ text: (error as Error).message.slice(0, 190) });
        // Closed without this chat hearing of it (its session was deleted, say): the buttons go now.
        const code = (error as { code?: unknown }).code;
        if (code === 'approval_closed' || code === 'approval_not_found') this.closeTooLate(id, c, (error as Error).message);
        return;
      }
      await c.answerCallbackQuery({ text: PRESSED[choice as Choice] });
    });
  }

  /** Asks about a call in the chat given. */
  onRequested(session: SessionSummary, chatId: string, event: Requested): void {
    this.show(session, chatId, event);
  }

  /** Says how a call was decided in the message that asked, wherever that is. */
  onResolved(event: Resolved): void {
    this.resolved(event);
  }

  private show(session: SessionSummary, chatId: string, event: Requested): void {
    // Announced again after a restart: the message from before still stands.
    if (this.sending.has(event.id) || this.runtime.state.shownApproval(event.id)) return;
    this.sending.add(event.id);
    const keyboard = new InlineKeyboard()
      .text('Allow once', `ap:${event.id}:once`)
      .text('Allow for this session', `ap:${event.id}:session`)
      .row()
      .text(`Always allow ${visibleText(event.suggestedPattern)}`.slice(0, 60), `ap:${event.id}:always`)
      .row()
      .text('Deny', `ap:${event.id}:deny`);
    const text = approvalMessage(session.name, event);
    void this.runtime.outbox.run(chatId, async () => {
      try {
        const sent = await this.runtime.bot.api.sendMessage(chatId, text, { parse_mode: 'HTML', reply_markup: keyboard });
        this.runtime.state.setShownApproval(event.id, { chatId, messageId: sent.message_id, text });
      } catch (error) {
        this.resolvedEarly.delete(event.id);
        throw error;
      } finally {
        this.sending.delete(event.id);
      }
      const early = this.resolvedEarly.get(event.id);
      if (early) {
        this.resolvedEarly.delete(event.id);
        this.resolved(early);
      }
    });
  }

  private closeTooLate(id: string, c: Context, message: string): void {
    const shown = this.runtime.state.shownApproval(id);
    if (!shown) {
      void c.editMessageReplyMarkup({ reply_markup: new InlineKeyboard() }).catch(() => undefined);
      return;
    }
    this.runtime.state.setShownApproval(id, undefined);
    const text = `${shown.text}\n\n<b>⌛ Closed</b>: ${escapeHtml(headAndTail(visibleText(message), 250))}`;
    void this.runtime.outbox.run(shown.chatId, async () => {
      await this.runtime.bot.api.editMessageText(shown.chatId, shown.messageId, text, { parse_mode: 'HTML', reply_markup: new InlineKeyboard() }).catch(() => undefined);
    });
  }

  private resolved(event: Resolved): void {
    const shown = this.runtime.state.shownApproval(event.id);
    if (!shown) {
      if (this.sending.has(event.id)) this.resolvedEarly.set(event.id, event);
      return;
    }
    this.runtime.state.setShownApproval(event.id, undefined);
    const outcome = event.decision === 'allow' ? '✅ Allowed' : event.decision === 'deny' ? '🚫 Denied' : '⌛ Expired';
    const text = `${shown.text}\n\n<b>${outcome}</b> by ${escapeHtml(headAndTail(visibleText(event.by), 60))}${event.reason ? `: ${escapeHtml(headAndTail(visibleText(event.reason), 250))}` : ''}`;
    void this.runtime.outbox.run(shown.chatId, async () => {
      await this.runtime.bot.api.editMessageText(shown.chatId, shown.messageId, text, { parse_mode: 'HTML', reply_markup: new InlineKeyboard() }).catch(() => undefined);
    });
  }
}

/**
 * The message asking about a call: what it would do (head and tail of a long input, controls escaped),
 * what each button would save, and when it is denied by itself; short enough for Telegram after escaping,
 * with room for the decision added later.
 */
export function approvalMessage(sessionName: string, event: Pick<Requested, 'tool' | 'input' | 'suggestedPattern' | 'sessionPattern' | 'expiresAt'>): string {
  const whole = inputText(event.tool, event.input);
  for (let budget = MAX_INPUT_CHARS; ; budget = Math.floor(budget * 0.8)) {
    const excerpt = headAndTail(whole, budget);
    const patternMax = Math.max(45, Math.min(MAX_PATTERN_CHARS, Math.floor(budget / 4)));
    const nameMax = Math.max(45, Math.min(100, Math.floor(budget / 8)));
    const lines = [
      `🔐 <b>${escapeHtml(shorten(sessionName, nameMax))}</b> wants to use <b>${escapeHtml(shorten(event.tool, nameMax))}</b>:`,
      `<pre>${escapeHtml(excerpt)}</pre>`,
      ...(excerpt === whole ? [] : ['<i>Cut in the middle: <code>claude-ext approvals --json</code> shows the whole input.</i>']),
      `"Allow for this session" saves the rule <code>${escapeHtml(shorten(event.sessionPattern, patternMax))}</code> for this session.`,
      `"Always allow" saves the rule <code>${escapeHtml(shorten(event.suggestedPattern, patternMax))}</code> for all your sessions.`,
      `<i>Denied by itself at ${escapeHtml(event.expiresAt.slice(11, 16))} UTC if nobody answers.</i>`,
    ];
    const text = lines.join('\n');
    if (text.length <= MAX_MESSAGE_CHARS - DECISION_ROOM || budget < 50) return text;
  }
}

/** A command as it is; any other input as indented JSON; controls escaped either way. */
function inputText(tool: string, input: unknown): string {
  const fields = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  return visibleText(tool === 'Bash' && typeof fields.command === 'string' ? fields.command : JSON.stringify(input, null, 2) ?? '');
}

function shorten(text: string, max: number): string {
  return headAndTail(visibleText(text), max);
}

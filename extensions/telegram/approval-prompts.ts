import { Composer, InlineKeyboard, type Context } from 'grammy';
import type { ApprovalAnswer, EngineEvent, SessionSummary } from 'claude-ext/extension';
import { escapeHtml } from './format.ts';
import { engineUser, type TelegramRuntime } from './runtime.ts';

type ApprovalEvent = Extract<EngineEvent, { type: 'approval_requested' | 'approval_resolved' }>;
type Requested = Extract<EngineEvent, { type: 'approval_requested' }>;
type Resolved = Extract<EngineEvent, { type: 'approval_resolved' }>;

type Choice = 'once' | 'session' | 'always' | 'deny';

/** What each button answers. "Always" stores the pattern the message showed: the approval's suggested one. */
const ANSWERS: Readonly<Record<Choice, ApprovalAnswer>> = {
  once: { decision: 'allow', scope: 'once' },
  session: { decision: 'allow', scope: 'session' },
  always: { decision: 'allow', scope: 'always' },
  deny: { decision: 'deny' },
};

const PRESSED: Readonly<Record<Choice, string>> = { once: 'Allowed once', session: 'Allowed for this session', always: 'Always allowed', deny: 'Denied' };

/** Longest input shown in the message; the rest is cut (the whole is in `claude-ext approvals --json`). */
const MAX_INPUT_CHARS = 1200;

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
        return;
      }
      await c.answerCallbackQuery({ text: PRESSED[choice as Choice] });
    });
  }

  onEvent(session: SessionSummary, chatId: string, event: ApprovalEvent): void {
    if (event.type === 'approval_requested') this.show(session, chatId, event);
    else this.resolved(event);
  }

  private show(session: SessionSummary, chatId: string, event: Requested): void {
    // Announced again after a restart: the message from before still stands.
    if (this.sending.has(event.id) || this.runtime.state.shownApproval(event.id)) return;
    this.sending.add(event.id);
    const keyboard = new InlineKeyboard()
      .text('Allow once', `ap:${event.id}:once`)
      .text('Allow for this session', `ap:${event.id}:session`)
      .row()
      .text(`Always allow ${event.suggestedPattern}`.slice(0, 60), `ap:${event.id}:always`)
      .row()
      .text('Deny', `ap:${event.id}:deny`);
    const text = [
      `🔐 <b>${escapeHtml(session.name)}</b> wants to use <b>${escapeHtml(event.tool)}</b>:`,
      `<pre>${escapeHtml(inputText(event.tool, event.input))}</pre>`,
      `"Always allow" saves the rule <code>${escapeHtml(event.suggestedPattern)}</code> for all your sessions.`,
      `<i>Denied by itself at ${escapeHtml(event.expiresAt.slice(11, 16))} UTC if nobody answers.</i>`,
    ].join('\n');
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

  private resolved(event: Resolved): void {
    const shown = this.runtime.state.shownApproval(event.id);
    if (!shown) {
      if (this.sending.has(event.id)) this.resolvedEarly.set(event.id, event);
      return;
    }
    this.runtime.state.setShownApproval(event.id, undefined);
    const outcome = event.decision === 'allow' ? '✅ Allowed' : event.decision === 'deny' ? '🚫 Denied' : '⌛ Expired';
    const text = `${shown.text}\n\n<b>${outcome}</b> by ${escapeHtml(event.by)}${event.reason ? `: ${escapeHtml(event.reason)}` : ''}`;
    void this.runtime.outbox.run(shown.chatId, async () => {
      await this.runtime.bot.api.editMessageText(shown.chatId, shown.messageId, text, { parse_mode: 'HTML', reply_markup: new InlineKeyboard() }).catch(() => undefined);
    });
  }
}

/** A command as it is; any other input as indented JSON, cut to a readable length. */
function inputText(tool: string, input: unknown): string {
  const fields = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const text = tool === 'Bash' && typeof fields.command === 'string' ? fields.command : JSON.stringify(input, null, 2);
  return text.length > MAX_INPUT_CHARS ? `${text.slice(0, MAX_INPUT_CHARS)}…` : text;
}

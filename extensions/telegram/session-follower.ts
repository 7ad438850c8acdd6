import { leadOf, type EngineEvent, type ResultEvent, type SessionSummary } from 'claude-ext/extension';
import { markdownToTelegramHtml } from './format.ts';
import { LiveReply } from './live-reply.ts';
import type { ApprovalPrompts } from './approval-prompts.ts';
import type { QuestionPrompts } from './question-prompts.ts';
import type { TelegramRuntime } from './runtime.ts';
import { splitTelegramHtml } from './split.ts';

/**
 * Streams each session's events to its chat (live message, typing indicator) as the frontend named
 * `telegram`, and sends the final answer of each result the engine hands it, acknowledging it once sent.
 */
export function followSessions(runtime: TelegramRuntime, questions: QuestionPrompts, approvals: ApprovalPrompts): void {
  const { ctx, bot, outbox, state } = runtime;
  const replies = new Map<string, LiveReply>();
  const refreshTimers = new Map<string, NodeJS.Timeout>();
  const typing = new Map<string, NodeJS.Timeout>();
  const busyPrompts = new Map<string, Set<string>>();

  const setTyping = (chatId: string, promptId: string, on: boolean): void => {
    const set = busyPrompts.get(chatId) ?? new Set<string>();
    if (on) set.add(promptId);
    else set.delete(promptId);
    busyPrompts.set(chatId, set);
    const timer = typing.get(chatId);
    if (set.size > 0 && !timer) {
      const send = (): void => void bot.api.sendChatAction(chatId, 'typing').catch(() => undefined);
      send();
      typing.set(chatId, setInterval(send, 4500));
    } else if (set.size === 0 && timer) {
      clearInterval(timer);
      typing.delete(chatId);
    }
  };
  ctx.track({
    dispose: () => {
      for (const timer of [...typing.values(), ...refreshTimers.values()]) clearTimeout(timer);
    },
  });

  const replyFor = (session: SessionSummary, chatId: string, promptId: string): LiveReply => {
    let reply = replies.get(promptId);
    if (!reply) {
      const replyTo = runtime.replyTo.get(promptId);
      runtime.replyTo.delete(promptId);
      reply = new LiveReply({
        api: bot.api,
        chatId,
        verbosity: state.verbosity(session.user, ctx.config.verbosity),
        editIntervalMs: ctx.config.edit_interval,
        remember: (messageId) => state.rememberMessage(chatId, messageId, session.id),
        messageIds: state.replyMessages(promptId),
        recordMessages: (messageIds) => state.setReplyMessages(promptId, messageIds),
        ...(replyTo ? { replyTo } : {}),
      });
      replies.set(promptId, reply);
    }
    return reply;
  };

  const scheduleRefresh = (chatId: string, promptId: string, reply: LiveReply): void => {
    if (refreshTimers.has(promptId)) return;
    const wait = Math.max(0, reply.nextEditAt() - Date.now());
    refreshTimers.set(
      promptId,
      setTimeout(() => {
        refreshTimers.delete(promptId);
        if (replies.get(promptId) === reply) void outbox.run(chatId, () => reply.refresh());
      }, wait),
    );
  };

  /** The session and chat a telegram frontend event belongs to, if any. */
  const chatOf = (sessionId: string): { session: SessionSummary; chatId: string } | undefined => {
    const session = ctx.sessions.get(sessionId);
    if (!session || session.labels.frontend !== 'telegram' || !session.labels.chat) return undefined;
    return { session, chatId: session.labels.chat };
  };

  /**
   * Where a session's approvals are asked: its own chat; else, for a session without one (a lead's worker,
   * a cron job made from the terminal, a session another session asks), its lead's chat, or the private
   * chat of its Telegram user (whose chat id is the user id). Nobody waits unasked.
   */
  const approvalChatOf = (sessionId: string): { session: SessionSummary; chatId: string } | undefined => {
    const own = chatOf(sessionId);
    if (own) return own;
    const session = ctx.sessions.get(sessionId);
    if (!session || session.labels.chat) return undefined;
    const leadId = leadOf(session);
    const lead = leadId ? chatOf(leadId) : undefined;
    if (lead) return { session, chatId: lead.chatId };
    const telegramUser = /^tg:(\d+)$/.exec(session.user)?.[1];
    return telegramUser ? { session, chatId: telegramUser } : undefined;
  };

  ctx.addFrontend({
    onEvent(event: EngineEvent): void {
      // A tool call waiting for a yes or no is shown for every session, background ones and chatless ones too.
      if (event.type === 'approval_requested') {
        const target = approvalChatOf(event.sessionId);
        if (target) approvals.onRequested(target.session, target.chatId, event);
        return;
      }
      if (event.type === 'approval_resolved') {
        approvals.onResolved(event);
        return;
      }
      const target = chatOf(event.sessionId);
      if (!target) return;
      const { session, chatId } = target;
      if (session.labels.delivery === 'reports') {
        // Background work (a heartbeat run) speaks only when it has something to report, or a question.
        if (event.type === 'extension' && event.extension === 'ask_user') {
          questions.onEvent(session, chatId, event);
          return;
        }
        if (event.type === 'extension' && event.kind === 'report' && typeof event.data.text === 'string') {
          const html = markdownToTelegramHtml(event.data.text);
          void outbox.run(chatId, async () => {
            for (const part of splitTelegramHtml(html)) {
              const sent = await bot.api.sendMessage(chatId, part, { parse_mode: 'HTML' });
              state.rememberMessage(chatId, sent.message_id, session.id);
            }
          });
        }
        return;
      }
      if (event.type === 'extension') {
        questions.onEvent(session, chatId, event);
        return;
      }
      const promptId = event.promptId;
      if (!promptId || event.type === 'result') return;
      if (event.type === 'started') {
        setTyping(chatId, promptId, true);
        return;
      }
      const reply = replyFor(session, chatId, promptId);
      if (reply.absorb(event)) scheduleRefresh(chatId, promptId, reply);
    },

    /**
     * A result of a telegram session: resolves once the chat has the whole answer. A result handed again
     * (the daemon died before the engine recorded that it was sent) is recognised and not sent twice.
     */
    async deliver(event: ResultEvent): Promise<void> {
      const target = chatOf(event.sessionId);
      const promptId = event.promptId ?? '';
      if (!target || !promptId) {
        ctx.logger.warn('a result for telegram has no chat to go to (its session is gone or has no chat label); not sent', { session: event.sessionId, prompt: promptId });
        return;
      }
      const { session, chatId } = target;
      setTyping(chatId, promptId, false);
      const timer = refreshTimers.get(promptId);
      if (timer) clearTimeout(timer);
      refreshTimers.delete(promptId);
      // A report session's result is not shown (its reports are); a result sent before is not sent again.
      if (session.labels.delivery === 'reports' || state.resultSent(promptId)) {
        replies.delete(promptId);
        return;
      }
      const reply = replyFor(session, chatId, promptId);
      // On failure the reply is kept: the engine hands the result again, and parts already shown stay as they are.
      await outbox.send(chatId, () => reply.finish(event.result));
      replies.delete(promptId);
      state.markResultSent(promptId);
    },
  });
}

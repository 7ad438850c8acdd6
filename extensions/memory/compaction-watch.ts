import { newId, type ExtensionContext } from 'claude-ext/extension';
import type { MemoryConfig } from './config.ts';
import type { SessionMarks } from './session-marks.ts';

const FLUSH_PROMPT = [
  'Your conversation is close to the size at which it will be compacted, and details will be lost.',
  'Save to your memory now, with memory_save or memory_edit, whatever you must not forget from it: decisions, facts learnt, the state of unfinished work and what comes next.',
  'Search first so you update existing notes rather than duplicate them. Do nothing else, and answer in one short line.',
].join(' ');

/**
 * Watches how full each session's context gets. Past `flush_at`, the session gets one silent turn to
 * save its memory (its output goes to the event log only); a compaction re-arms that and makes the next
 * prompt carry the note index again.
 */
export function compactionWatch(ctx: ExtensionContext<MemoryConfig>, marks: SessionMarks): void {
  const follow = (sessionId: string, promptId: string): void => {
    void ctx.sessions
      .waitForPrompt(sessionId, promptId)
      .then((done) => {
        if (done.result) ctx.record('memory_flush_done', { session: sessionId, prompt: done.id, outcome: done.result.outcome, text: done.result.text.slice(0, 2000) });
        if (marks.get(sessionId).flushPromptId === promptId) marks.update(sessionId, { flushPromptId: undefined });
      })
      .catch(() => undefined);
  };
  /** Submits the flush turn under the id saved with the mark: again after a crash, it finds the one queued. */
  const submit = (sessionId: string, user: string, promptId: string): boolean => {
    try {
      ctx.sessions.submit({ user, session: sessionId, text: ctx.config.flush_prompt ?? FLUSH_PROMPT, options: { silent: true }, promptId });
    } catch (error) {
      ctx.logger.warn('could not ask the session to save its memory', { session: sessionId, error: (error as Error).message });
      marks.update(sessionId, { flushPromptId: undefined });
      return false;
    }
    follow(sessionId, promptId);
    return true;
  };
  for (const [sessionId, mark] of marks.entries()) {
    const session = ctx.sessions.get(sessionId);
    if (mark.flushPromptId && session) submit(sessionId, session.user, mark.flushPromptId);
  }

  ctx.onEvent((event) => {
    if (event.type === 'compacted') {
      marks.update(event.sessionId, { flushed: false, indexDue: true });
      ctx.record('memory_compacted', { session: event.sessionId, trigger: event.trigger, pre_tokens: event.preTokens });
      return;
    }
    if (event.type !== 'result' || !event.result.context) return;
    const { usedTokens, windowTokens } = event.result.context;
    if (usedTokens < ctx.config.flush_at * windowTokens || marks.get(event.sessionId).flushed) return;
    if (!ctx.sessions.get(event.sessionId)) return;
    const promptId = newId('p');
    marks.update(event.sessionId, { flushed: true, flushPromptId: promptId });
    if (!submit(event.sessionId, event.user, promptId)) return;
    ctx.record('memory_flush', { session: event.sessionId, prompt: promptId, used_tokens: usedTokens, window_tokens: windowTokens });
  });
}

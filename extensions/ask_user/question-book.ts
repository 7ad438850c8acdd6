import { newId, Waiters } from 'claude-ext/extension';
import type { Question, QuestionStatus, QuestionStore } from './question-store.ts';

/** How an ask ended, as the asking tool reports it. */
export type AskOutcome =
  | { readonly status: 'answered'; readonly answer: string; readonly answeredBy: string }
  | { readonly status: 'timeout' | 'cancelled'; readonly reason: string };

export type AskRequest = Pick<Question, 'requestId' | 'sessionId' | 'promptId' | 'user' | 'question' | 'options'> & { readonly timeoutMs: number };

export type AnswerResult = { readonly ok: true; readonly question: Question } | { readonly ok: false; readonly reason: string; readonly question?: Question };

export interface QuestionEvents {
  opened(question: Question): void;
  closed(question: Question): void;
  /** A question whose asking call was lost was answered: the session hears it as a new prompt. */
  answeredAfterItsTurn(question: Question): void;
}

/**
 * The open questions and the turns waiting on them. Every change is on disk before anyone hears of
 * it; a waiting ask survives a daemon restart because asking again with the same request id finds
 * the same question.
 */
export class QuestionBook {
  private readonly questions = new Map<string, Question>();
  private readonly waiters = new Waiters<AskOutcome>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: QuestionStore,
    private readonly events: QuestionEvents,
  ) {
    for (const question of store.loadAll()) {
      this.questions.set(question.id, question);
      if (question.status === 'open') this.armTimer(question);
    }
  }

  /** Opens a question (or finds the one this request opened before) and waits for its end. */
  ask(request: AskRequest, signal?: AbortSignal): Promise<AskOutcome> {
    const existing = [...this.questions.values()].find((q) => q.requestId === request.requestId && q.sessionId === request.sessionId);
    const question = existing ?? this.open(request);
    if (question.status !== 'open') return Promise.resolve(outcomeOf(question));
    // The asking call went away (the session's MCP server ended, or the CLI cancelled the tool
    // call); the question stays open until its turn ends, a restarted server may ask again.
    return this.waiters.wait(question.id, signal, { status: 'cancelled', reason: 'the asking tool call was cancelled' });
  }

  /** Answers a question; the first answer wins. With `user`, only that user's questions. */
  answer(id: string, text: string, answeredBy: string, user?: string): AnswerResult {
    const question = this.questions.get(id) ?? this.store.load(id);
    if (!question || (user !== undefined && question.user !== user)) return { ok: false, reason: `no question ${id}${user !== undefined ? ` for user ${user}` : ''}` };
    if (question.status !== 'open') {
      const when = question.closedAt ? ` at ${question.closedAt}` : '';
      return { ok: false, reason: question.status === 'answered' ? `too late: question ${id} was already answered${when}` : `too late: question ${id} ${question.status === 'timeout' ? 'timed out' : 'was cancelled'}${when}`, question };
    }
    const closed = this.close(question, 'answered', { answer: text, answeredBy });
    if (closed.followUp) this.events.answeredAfterItsTurn(closed);
    return { ok: true, question: closed };
  }

  /**
   * The turn's asking call is gone for good (its CLI gave up on it during a restart): the turn's open
   * questions outlive it, and an answer becomes a new prompt of the session.
   */
  keepAfterTurn(sessionId: string, promptId: string | undefined): void {
    for (const question of this.questions.values()) {
      if (question.status === 'open' && !question.followUp && this.inTurn(question, sessionId, promptId)) {
        const kept: Question = { ...question, followUp: true, followUpPromptId: newId('p') };
        this.store.save(kept);
        this.questions.set(kept.id, kept);
      }
    }
  }

  /** Cancels the open questions of a turn that ended (stopped, timed out, finished), except those kept after it. */
  cancelTurn(sessionId: string, promptId: string | undefined, reason: string): void {
    for (const question of this.questions.values()) {
      if (question.status === 'open' && !question.followUp && this.inTurn(question, sessionId, promptId)) this.close(question, 'cancelled', { reason });
    }
  }

  private inTurn(question: Question, sessionId: string, promptId: string | undefined): boolean {
    return question.sessionId === sessionId && (promptId === undefined || question.promptId === promptId);
  }

  /** Answered questions whose answer was to become a prompt: handed on again at a start, in case a crash came between. */
  answeredAfterTurns(): Question[] {
    return [...this.questions.values()].filter((q) => q.status === 'answered' && q.followUp === true);
  }

  list(filter: { user?: string; sessionId?: string; includeClosed?: boolean } = {}): Question[] {
    return [...this.questions.values()].filter(
      (q) => (filter.includeClosed || q.status === 'open') && (filter.user === undefined || q.user === filter.user) && (filter.sessionId === undefined || q.sessionId === filter.sessionId),
    );
  }


  /** Stops the timers; open questions stay on disk for the next start. */
  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiters.settleAll(() => ({ status: 'cancelled', reason: 'the ask_user extension stopped' }));
  }

  private open(request: AskRequest): Question {
    const now = Date.now();
    const question: Question = {
      id: newId('q', 8),
      requestId: request.requestId,
      sessionId: request.sessionId,
      promptId: request.promptId,
      user: request.user,
      question: request.question,
      options: request.options,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + request.timeoutMs).toISOString(),
      status: 'open',
    };
    this.store.save(question);
    this.questions.set(question.id, question);
    this.armTimer(question);
    this.events.opened(question);
    return question;
  }

  private close(question: Question, status: Exclude<QuestionStatus, 'open'>, fields: { answer?: string; answeredBy?: string; reason?: string }): Question {
    const closed: Question = { ...question, ...fields, status, closedAt: new Date().toISOString() };
    this.store.save(closed);
    this.questions.set(closed.id, closed);
    const timer = this.timers.get(closed.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(closed.id);
    this.waiters.settle(closed.id, outcomeOf(closed));
    this.events.closed(closed);
    return closed;
  }

  private armTimer(question: Question): void {
    const delay = Math.max(0, Date.parse(question.expiresAt) - Date.now());
    const timer = setTimeout(() => {
      const current = this.questions.get(question.id);
      if (current?.status !== 'open') return;
      if (Date.parse(current.expiresAt) > Date.now()) {
        this.armTimer(current);
        return;
      }
      this.close(current, 'timeout', { reason: `no answer within ${formatDuration(Date.parse(current.expiresAt) - Date.parse(current.createdAt))}` });
    }, Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    this.timers.set(question.id, timer);
  }
}

function outcomeOf(question: Question): AskOutcome {
  if (question.status === 'answered') return { status: 'answered', answer: question.answer ?? '', answeredBy: question.answeredBy ?? '' };
  return { status: question.status === 'timeout' ? 'timeout' : 'cancelled', reason: question.reason ?? question.status };
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

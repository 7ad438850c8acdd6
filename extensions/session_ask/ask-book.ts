import { newId, Waiters, type ExtensionSessions, type SessionSummary, type TurnResult } from 'claude-ext/extension';
import { DeadlockError, DepthLimitError, RequestIdReusedError } from './ask-errors.ts';
import type { Ask, AskStatus, AskStore, SessionRef } from './ask-store.ts';
import { formatDuration, messagePrompt, nameFor, questionPrompt } from './prompt-texts.ts';
import type { AskOutcome } from './protocol.ts';
import { waitChain } from './wait-chain.ts';

/** What the book needs of the daemon's sessions. */
export type SessionPort = Pick<ExtensionSessions, 'get' | 'submit' | 'withdraw' | 'getPrompt'>;

export interface SendRequest {
  readonly requestId: string;
  readonly from: SessionSummary;
  readonly to: SessionSummary;
  readonly text: string;
  readonly maxDepth: number;
}

export interface AskEvents {
  /** A question whose asking call was lost in a restart was answered: the asker hears it as a new prompt. */
  answeredAfterItsTurn(ask: Ask): void;
}

/**
 * The questions sessions put to each other, and the turns waiting on them. Every change is on disk
 * before anyone hears of it: asking again with the same request id finds the same ask, so a daemon
 * restart loses no answer and asks nothing twice.
 */
export class AskBook {
  private readonly asks = new Map<string, Ask>();
  private readonly waiters = new Waiters<AskOutcome>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Asks whose question is being withdrawn: its `cancelled` result is ours, not the target's answer. */
  private readonly withdrawing = new Set<string>();

  constructor(
    private readonly store: AskStore,
    private readonly sessions: SessionPort,
    private readonly events: AskEvents,
  ) {
    for (const ask of store.loadAll()) this.asks.set(ask.id, ask);
  }

  /** Settles the asks whose question was answered while the daemon was down, and times the others. */
  recover(): void {
    for (const ask of [...this.asks.values()]) {
      if (ask.status === 'answered' && ask.followUp && ask.followUpPromptId) this.events.answeredAfterItsTurn(ask);
      if (ask.status !== 'waiting' && !(ask.kind === 'tell' && ask.status === 'sent')) continue;
      if (!this.sessions.get(ask.to.sessionId)) {
        if (ask.status === 'waiting') this.close(ask, 'failed', { reason: `session ${nameFor(ask.to, ask.from.user)} was deleted before it answered` });
        continue;
      }
      let result: TurnResult | undefined;
      try {
        result = this.sessions.getPrompt(ask.to.sessionId, ask.promptId).result;
      } catch {
        // Saved, then the daemon went down before the prompt was queued: queue it now, once.
        try {
          this.send(ask);
        } catch {
          continue;
        }
      }
      if (ask.status !== 'waiting') continue;
      if (result) this.settle(ask, result);
      else this.armTimer(ask);
    }
  }

  /** Puts a question into the target's queue (or finds the one this request put there) and waits for its end. */
  ask(request: SendRequest & { readonly timeoutMs: number }, signal?: AbortSignal): Promise<AskOutcome> {
    const existing = this.byRequest(request.from.id, request.requestId);
    if (existing && existing.kind !== 'ask') throw new RequestIdReusedError(request.requestId);
    if (existing) return this.wait(this.reattach(existing, request.from), signal);
    this.refuseDeadlock(request.from, request.to);
    const depth = this.depthFor(request.from, request.to, request.maxDepth);
    const from = refOf(request.from);
    const to = refOf(request.to);
    const now = Date.now();
    const ask: Ask = {
      id: newId('ask', 8),
      kind: 'ask',
      requestId: request.requestId,
      from: { ...from, promptId: request.from.currentPromptId },
      to,
      promptId: newId('p'),
      text: request.text,
      depth,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + request.timeoutMs).toISOString(),
      status: 'waiting',
    };
    this.save(ask);
    this.send(ask);
    this.armTimer(ask);
    return this.wait(ask, signal);
  }

  /** Puts a message into the target's queue without waiting; the same request id tells it once. */
  tell(request: SendRequest): { ask: Ask; position: number | undefined } {
    const existing = this.byRequest(request.from.id, request.requestId);
    if (existing && existing.kind !== 'tell') throw new RequestIdReusedError(request.requestId);
    if (existing) return { ask: existing, position: undefined };
    const depth = this.depthFor(request.from, request.to, request.maxDepth);
    const from = refOf(request.from);
    const to = refOf(request.to);
    const now = new Date().toISOString();
    const ask: Ask = {
      id: newId('ask', 8),
      kind: 'tell',
      requestId: request.requestId,
      from: { ...from, promptId: request.from.currentPromptId },
      to,
      promptId: newId('p'),
      text: request.text,
      depth,
      createdAt: now,
      status: 'sent',
      closedAt: now,
    };
    this.save(ask);
    return { ask, position: this.send(ask) };
  }

  /**
   * Queues the ask's prompt under the id saved with the ask: sent again after a crash between the
   * two, it finds the prompt already queued instead of queuing it twice. A target that refuses it
   * (deleted meanwhile) closes the ask with the reason.
   */
  private send(ask: Ask): number {
    const text = ask.kind === 'ask' ? questionPrompt(ask.from, ask.to, ask.text) : messagePrompt(ask.from, ask.to, ask.text);
    try {
      return this.sessions.submit({ user: ask.to.user, session: ask.to.sessionId, text, fromSession: ask.from.sessionId, promptId: ask.promptId }).position;
    } catch (error) {
      this.close(ask, 'failed', { reason: `could not reach session ${nameFor(ask.to, ask.from.user)}: ${(error as Error).message}` });
      throw error;
    }
  }

  /** A prompt finished: it may answer a question, or end a turn that was waiting on one. */
  promptFinished(sessionId: string, promptId: string | undefined, result: TurnResult): void {
    for (const ask of [...this.asks.values()]) {
      if (ask.to.sessionId === sessionId && ask.promptId === promptId && !this.withdrawing.has(ask.id)) this.settle(ask, result);
      else if (this.isWaitEdge(ask) && ask.from.sessionId === sessionId && ask.from.promptId === promptId) void this.giveUp(ask, 'cancelled', `the asking turn ended (${result.outcome})`);
    }
  }

  /**
   * The turn's asking call was cut by a restart and will not be made again: its questions outlive
   * the turn, and an answer reaches the asker as a new prompt.
   */
  keepAfterTurn(sessionId: string, promptId: string | undefined): void {
    for (const ask of [...this.asks.values()]) {
      if (ask.kind !== 'ask' || ask.followUp || ask.from.sessionId !== sessionId || (promptId !== undefined && ask.from.promptId !== promptId)) continue;
      if (ask.status === 'waiting') {
        this.save({ ...ask, followUp: true, followUpPromptId: newId('p') });
      } else if (ask.status === 'answered' && !ask.returned) {
        // Answered while the daemon was down, or before the lost call was given up on: no call got it.
        const kept: Ask = { ...ask, followUp: true, followUpPromptId: newId('p') };
        this.save(kept);
        this.events.answeredAfterItsTurn(kept);
      }
    }
  }

  list(filter: { readonly user?: string; readonly all?: boolean } = {}): Ask[] {
    return [...this.asks.values()].filter((ask) => (filter.all || ask.status === 'waiting') && (filter.user === undefined || ask.from.user === filter.user || ask.to.user === filter.user));
  }

  /** Ends at once the waits on sessions that were deleted before they answered. */
  dropDeletedTargets(): void {
    for (const ask of [...this.asks.values()]) {
      if (ask.status === 'waiting' && !this.sessions.get(ask.to.sessionId)) this.close(ask, 'failed', { reason: `session ${nameFor(ask.to, ask.from.user)} was deleted before it answered` });
    }
  }

  /** The session `sessionId` waits on now, if it waits on one. */
  waitingOn(sessionId: string): SessionRef | undefined {
    return [...this.asks.values()].find((ask) => this.isWaitEdge(ask) && ask.from.sessionId === sessionId)?.to;
  }

  /**
   * Stops the timers and ends the waiting calls, telling them how to wait for the same question
   * again; the asks stay on disk for the next start.
   */
  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiters.settleAll((id) => ({ status: 'cancelled', reason: `the session_ask extension stopped${askAgain(this.asks.get(id))}` }));
  }

  private byRequest(sessionId: string, requestId: string): Ask | undefined {
    return [...this.asks.values()].find((ask) => ask.requestId === requestId && ask.from.sessionId === sessionId);
  }

  /** Asked again from another turn (after a restart): that turn is now the one waiting. */
  private reattach(ask: Ask, from: SessionSummary): Ask {
    if (ask.status !== 'waiting' || (ask.from.promptId === from.currentPromptId && !ask.followUp)) return ask;
    const moved: Ask = { ...ask, from: { ...ask.from, promptId: from.currentPromptId }, followUp: false };
    this.save(moved);
    return moved;
  }

  /** A turn that waits on a question: an edge of the graph deadlocks are looked for in. */
  private isWaitEdge(ask: Ask): boolean {
    return ask.kind === 'ask' && ask.status === 'waiting' && ask.followUp !== true;
  }

  private refuseDeadlock(from: SessionSummary, to: SessionSummary): void {
    const edges = new Map<string, string[]>();
    for (const ask of this.asks.values()) if (this.isWaitEdge(ask)) edges.set(ask.from.sessionId, [...(edges.get(ask.from.sessionId) ?? []), ask.to.sessionId]);
    const chain = waitChain(edges, to.id, from.id);
    if (!chain) return;
    throw new DeadlockError([from.id, ...chain].map((id) => this.nameOf(id, from.user)));
  }

  /** How deep the question would be nested; throws past `maxDepth`. */
  private depthFor(from: SessionSummary, to: SessionSummary, maxDepth: number): number {
    const chain = [to.id, from.id];
    let promptId = from.currentPromptId;
    let at = from.id;
    for (;;) {
      const parent = [...this.asks.values()].find((ask) => ask.to.sessionId === at && ask.promptId === promptId);
      if (!parent || chain.length > maxDepth + 2) break;
      chain.push(parent.from.sessionId);
      at = parent.from.sessionId;
      promptId = parent.from.promptId;
    }
    const depth = chain.length - 1;
    if (depth > maxDepth) throw new DepthLimitError(chain.reverse().map((id) => this.nameOf(id, from.user)), maxDepth);
    return depth;
  }

  private nameOf(sessionId: string, user: string): string {
    const session = this.sessions.get(sessionId);
    return session ? nameFor(session, user) : sessionId;
  }

  private wait(ask: Ask, signal?: AbortSignal): Promise<AskOutcome> {
    if (ask.status !== 'waiting') {
      if (!ask.returned) this.save({ ...ask, returned: true });
      return Promise.resolve(outcomeOf(ask));
    }
    // The call went away (the CLI cancelled it, or its connection ended): the ask stays until its
    // turn ends, since a restarted daemon may be asked again with the same request id.
    return this.waiters.wait(ask.id, signal, { status: 'cancelled', reason: 'the asking tool call was cancelled' });
  }

  /** The question's prompt has its result: the answer, or why there is none. */
  private settle(ask: Ask, result: TurnResult): void {
    if (ask.status !== 'waiting') {
      // Given up on after it had started: the answer is kept with the ask, for the record.
      if (ask.kind === 'ask' && !ask.withdrawn && ask.answer === undefined && result.outcome === 'success') this.save({ ...ask, answer: result.text, costUsd: result.costUsd, outcome: result.outcome });
      return;
    }
    if (result.outcome === 'success') {
      const answered = this.close(ask, 'answered', { answer: result.text, costUsd: result.costUsd, outcome: result.outcome });
      if (answered.followUp) this.events.answeredAfterItsTurn(answered);
      return;
    }
    const why = result.text ? `: ${result.text}` : '';
    this.close(ask, 'failed', { reason: `session ${nameFor(ask.to, ask.from.user)} did not answer: its turn ended ${result.outcome}${why}`, costUsd: result.costUsd, outcome: result.outcome });
  }

  /** Stops waiting: takes the question back if it has not started, and closes the ask. */
  private async giveUp(ask: Ask, status: 'timeout' | 'cancelled', reason: string): Promise<void> {
    if (this.withdrawing.has(ask.id)) return;
    this.withdrawing.add(ask.id);
    let withdrawn = false;
    try {
      withdrawn = await this.sessions.withdraw(ask.to.sessionId, ask.promptId, `withdrawn by session_ask: ${reason}`);
    } catch {
      // the target session is gone: nothing left to withdraw
    } finally {
      this.withdrawing.delete(ask.id);
    }
    const current = this.asks.get(ask.id);
    if (current?.status !== 'waiting') return;
    if (!withdrawn) {
      // It started, and may have finished while we waited to withdraw it: an answer beats giving up.
      const result = this.promptResult(current);
      if (result) return this.settle(current, result);
    }
    const target = nameFor(current.to, current.from.user);
    const what = withdrawn ? `the question was withdrawn before ${target} started on it` : `${target} had already started on the question; its answer will not reach this call`;
    this.close(current, status, { reason: `${reason}; ${what}`, withdrawn });
  }

  private promptResult(ask: Ask): TurnResult | undefined {
    try {
      return this.sessions.getPrompt(ask.to.sessionId, ask.promptId).result;
    } catch {
      return undefined;
    }
  }

  private close(ask: Ask, status: Exclude<AskStatus, 'waiting' | 'sent'>, fields: Partial<Pick<Ask, 'answer' | 'costUsd' | 'outcome' | 'reason' | 'withdrawn'>>): Ask {
    const closed: Ask = { ...ask, ...fields, status, closedAt: new Date().toISOString(), ...(this.waiters.count(ask.id) > 0 ? { returned: true } : {}) };
    this.save(closed);
    const timer = this.timers.get(closed.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(closed.id);
    this.waiters.settle(closed.id, outcomeOf(closed));
    return closed;
  }

  private save(ask: Ask): void {
    this.store.save(ask);
    this.asks.set(ask.id, ask);
  }

  private armTimer(ask: Ask): void {
    if (!ask.expiresAt) return;
    const expiresAt = Date.parse(ask.expiresAt);
    const timer = setTimeout(
      () => {
        const current = this.asks.get(ask.id);
        if (current?.status !== 'waiting') return;
        if (expiresAt > Date.now()) return this.armTimer(current);
        void this.giveUp(current, 'timeout', `no answer within ${formatDuration(expiresAt - Date.parse(current.createdAt))}`);
      },
      Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1),
    );
    timer.unref();
    this.timers.set(ask.id, timer);
  }
}

/** How a call that ended before its answer can wait for the same question again. */
function askAgain(ask: Ask | undefined): string {
  return ask ? `; ask again with request_id "${ask.requestId}" to wait for the same question instead of asking twice` : '';
}

function refOf(session: SessionSummary): SessionRef {
  return { sessionId: session.id, name: session.name, user: session.user };
}

function outcomeOf(ask: Ask): AskOutcome {
  if (ask.status === 'answered') return { status: 'answered', answer: ask.answer ?? '', costUsd: ask.costUsd ?? 0, session: nameFor(ask.to, ask.from.user) };
  return { status: ask.status === 'timeout' ? 'timeout' : ask.status === 'failed' ? 'failed' : 'cancelled', reason: ask.reason ?? ask.status };
}

/** Sessions and prompts in memory, as the ask book sees the daemon's: prompts finish when a test says so. */
import type { PromptRecord, SessionPromptRequest, SessionSummary, TurnOutcome, TurnResult } from '../../../../core/extension-host/extension-api.ts';
import type { SessionPort } from '../../../../extensions/session_ask/ask-book.ts';
import { fakeSession } from '../extension-fixture.ts';

export function turnResult(outcome: TurnOutcome, text: string, costUsd = 0.25): TurnResult {
  return { outcome, isError: outcome !== 'success', text, subtype: undefined, costUsd, durationMs: 5, numTurns: 1, usage: { inputTokens: 1, outputTokens: 1, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 } };
}

export class FakeSessions implements SessionPort {
  readonly sessions = new Map<string, SessionSummary>();
  readonly prompts = new Map<string, PromptRecord>();
  readonly submitted: SessionPromptRequest[] = [];
  private next = 1;

  /** A session `name` of `user`, in a turn of its own (`currentPromptId`) unless told otherwise. */
  add(user: string, name: string, currentPromptId: string | undefined = `p_own_${name}`): SessionSummary {
    const session = fakeSession(user, { id: `s_${user}_${name}`, name, ...(currentPromptId ? { currentPromptId } : {}) });
    this.sessions.set(session.id, session);
    return session;
  }

  /** The session is deleted. */
  remove(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** The session now works on `promptId` (a question it was asked). */
  working(session: SessionSummary, promptId: string): SessionSummary {
    const moved = { ...session, currentPromptId: promptId };
    this.sessions.set(session.id, moved);
    this.start(promptId);
    return moved;
  }

  get(sessionId: string): SessionSummary | undefined {
    return this.sessions.get(sessionId);
  }

  submit(request: SessionPromptRequest): { session: SessionSummary; prompt: PromptRecord; position: number } {
    const session = this.sessions.get(request.session ?? '');
    if (!session || session.user !== request.user) throw new Error(`no session ${request.session} of ${request.user}`);
    // As the engine: a prompt id the session has already returns that prompt, and queues nothing.
    const known = request.promptId ? this.prompts.get(request.promptId) : undefined;
    if (known) return { session, prompt: known, position: 0 };
    this.submitted.push(request);
    const prompt: PromptRecord = {
      id: request.promptId ?? `p_${this.next++}`,
      sessionId: session.id,
      user: session.user,
      seq: this.next,
      text: request.text,
      options: {},
      ...(request.fromSession ? { fromSession: request.fromSession } : {}),
      status: 'queued',
      enqueuedAt: new Date().toISOString(),
      delivered: false,
    };
    this.prompts.set(prompt.id, prompt);
    return { session, prompt, position: 0 };
  }

  async withdraw(_sessionId: string, promptId: string, reason: string): Promise<boolean> {
    const prompt = this.prompts.get(promptId);
    if (prompt?.status !== 'queued') return false;
    this.prompts.set(promptId, { ...prompt, status: 'done', result: turnResult('cancelled', reason) });
    return true;
  }

  getPrompt(_sessionId: string, promptId: string): PromptRecord {
    const prompt = this.prompts.get(promptId);
    if (!prompt) throw new Error(`no prompt ${promptId}`);
    return prompt;
  }

  start(promptId: string): void {
    const prompt = this.prompts.get(promptId);
    if (prompt) this.prompts.set(promptId, { ...prompt, status: 'running' });
  }

  /** The prompt finished with `result`; returns it for the book's promptFinished. */
  finish(promptId: string, result: TurnResult): TurnResult {
    const prompt = this.getPrompt('', promptId);
    this.prompts.set(promptId, { ...prompt, status: 'done', result });
    return result;
  }
}

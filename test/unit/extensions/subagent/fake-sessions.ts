/** Sessions for subagent's unit tests: prompts finish when the test says so; commands run unsandboxed. */
import os from 'node:os';
import type { ExtensionSessions, NewSessionRequest, PromptRecord, QueuedPrompt, SessionSummary, TurnOutcome } from '../../../../core/extension-host/extension-api.ts';
import { fakeSession } from '../extension-fixture.ts';

interface OpenPrompt {
  record: PromptRecord;
  resolve: (record: PromptRecord) => void;
  promise: Promise<PromptRecord>;
}

export class FakeSessions implements ExtensionSessions {
  readonly defaultCwd = os.tmpdir();
  readonly byId = new Map<string, SessionSummary>();
  readonly prompts = new Map<string, OpenPrompt>();
  private next = 0;

  add(session: SessionSummary): SessionSummary {
    this.byId.set(session.id, session);
    return session;
  }

  list(user?: string): SessionSummary[] {
    return [...this.byId.values()].filter((s) => user === undefined || s.user === user);
  }
  get(sessionId: string): SessionSummary | undefined {
    return this.byId.get(sessionId);
  }
  find(ref: string, user?: string): SessionSummary {
    const found = this.list(user).find((s) => s.id === ref || s.name === ref);
    if (!found) throw new Error(`no session ${ref}`);
    return found;
  }
  create(request: NewSessionRequest & { readonly user: string }): SessionSummary {
    const id = `s_${++this.next}`;
    return this.add(fakeSession(request.user, { id, name: request.name ?? id, cwd: request.cwd ?? this.defaultCwd, labels: request.labels ?? {}, ...(request.template ? { template: request.template } : {}) }));
  }
  rename(sessionId: string, name: string): SessionSummary {
    return this.add({ ...this.find(sessionId), name });
  }
  async delete(sessionId: string): Promise<void> {
    this.byId.delete(sessionId);
  }
  submit(request: { user: string; session?: string; text: string; promptId?: string }): { session: SessionSummary; prompt: PromptRecord; position: number } {
    const session = this.find(request.session ?? '', request.user);
    // As the engine: a prompt id the session has already returns that prompt, and queues nothing.
    const known = request.promptId ? this.prompts.get(request.promptId) : undefined;
    if (known) return { session, prompt: known.record, position: 0 };
    const record: PromptRecord = { id: request.promptId ?? `p_${++this.next}`, sessionId: session.id, user: session.user, seq: this.next, text: request.text, options: {}, status: 'running', enqueuedAt: new Date().toISOString(), startedAt: new Date().toISOString(), delivered: false };
    let resolve: (record: PromptRecord) => void = () => undefined;
    const promise = new Promise<PromptRecord>((r) => (resolve = r));
    this.prompts.set(record.id, { record, resolve, promise });
    return { session, prompt: record, position: 0 };
  }
  /** Ends a prompt with a result, as the engine would. */
  finish(promptId: string, outcome: TurnOutcome, text: string, costUsd = 0.01): void {
    const open = this.prompts.get(promptId);
    if (!open) throw new Error(`no prompt ${promptId}`);
    const record: PromptRecord = {
      ...open.record,
      status: 'done',
      finishedAt: new Date().toISOString(),
      result: { outcome, isError: outcome !== 'success', text, subtype: undefined, costUsd, durationMs: 5, numTurns: 1, usage: { inputTokens: 1, outputTokens: 1, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 } },
    };
    open.record = record;
    open.resolve(record);
  }
  /** The prompts sent to a session, oldest first. */
  promptsOf(sessionId: string): PromptRecord[] {
    return [...this.prompts.values()].map((p) => p.record).filter((r) => r.sessionId === sessionId);
  }
  async stop(ref: string): Promise<{ sessionId: string; interruptedPromptId: string | undefined; clearedPrompts: number }> {
    const session = this.find(ref);
    const running = this.promptsOf(session.id).find((r) => r.status === 'running');
    if (running) this.finish(running.id, 'stopped', 'stopped');
    return { sessionId: session.id, interruptedPromptId: running?.id, clearedPrompts: 0 };
  }
  async withdraw(_sessionId: string, promptId: string, reason: string): Promise<boolean> {
    const open = this.prompts.get(promptId);
    if (!open || open.record.status !== 'queued') return false;
    this.finish(promptId, 'cancelled', reason);
    return true;
  }
  queued(sessionId: string): QueuedPrompt[] {
    return this.promptsOf(sessionId)
      .filter((r) => r.status === 'queued')
      .map((r, index) => ({ id: r.id, preview: r.text.slice(0, 200), position: index + 1, queuedAt: r.enqueuedAt }));
  }
  getPrompt(_sessionId: string, promptId: string): PromptRecord {
    const open = this.prompts.get(promptId);
    if (!open) throw new Error(`no prompt ${promptId}`);
    return open.record;
  }
  waitForPrompt(_sessionId: string, promptId: string): Promise<PromptRecord> {
    const open = this.prompts.get(promptId);
    if (!open) return Promise.reject(new Error(`no prompt ${promptId}`));
    return open.promise;
  }
  watchPrompt() {
    return { dispose: () => undefined };
  }
  counts(): Record<string, number> {
    return {};
  }
  sandboxCommand(_sessionId: string, argv: readonly string[]) {
    return { argv: [...argv], env: {} };
  }
}

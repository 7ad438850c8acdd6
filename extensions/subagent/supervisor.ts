import crypto from 'node:crypto';
import path from 'node:path';
import { backgroundLabels, leadLabels, newId, type Disposable, type ExtensionContext, type PromptRecord, type SessionSummary } from 'claude-ext/extension';
import { BudgetError, NestingError, UnknownParadigmError, WorkerLimitError, WorkerNotFoundError, WorkerStateError } from './errors.ts';
import { addWorktree, copyUncommitted, NotARepositoryError, repoInfo, worktreePath } from './git.ts';
import { sessionGit } from './git-runners.ts';
import type { Paradigm } from './paradigms.ts';
import { Waits } from './waits.ts';
import { templateName, workerTemplate } from './worker-template.ts';
import type { SpawnParams, WaitOutcome, WorkerResult, WorkerStatus, WorkerStatusView, WorkerView } from './protocol.ts';
import { workerCost, type Worker, type WorkerStore } from './worker-store.ts';
import type { SubagentConfig } from './config.ts';

/** The label of a worker's session holding the worker's id. */
export const WORKER_LABEL = 'subagent_worker';

/** What a worker's result keeps of its text. */
const MAX_RESULT_CHARS = 50_000;
const TOOL_CALLS_KEPT = 5;
const REQUESTS_KEPT = 20;

export function isWorkerSession(session: Pick<SessionSummary, 'labels'>): boolean {
  return session.labels[WORKER_LABEL] !== undefined;
}

interface ToolCallSeen {
  readonly name: string;
  readonly input: string;
  readonly at: string;
}

/**
 * The workers of every lead: starts them (session, template, worktree), follows their prompts to
 * their results (again after a restart), and hands results to waiting leads or, when a lead is idle,
 * as a notice prompt.
 */
export class Supervisor {
  private readonly templates = new Map<string, Disposable>();
  private readonly toolCalls = new Map<string, ToolCallSeen[]>();
  private readonly followed = new Set<string>();
  private readonly timedOut = new Set<string>();
  private readonly waits = new Waits();
  /** Names of workers being started, per lead. */
  private readonly spawning = new Map<string, string[]>();

  constructor(
    private readonly ctx: ExtensionContext<SubagentConfig>,
    readonly store: WorkerStore,
    private readonly paradigms: () => ReadonlyMap<string, Paradigm>,
  ) {}

  /** After a start or restart: templates back, and every prompt that was in flight followed again. */
  resume(): void {
    for (const worker of this.store.all()) {
      if (worker.removed) continue;
      this.registerTemplate(worker);
      if (worker.unsent) {
        try {
          this.sendUnsent(worker.id);
        } catch (error) {
          this.ctx.logger.warn('a worker prompt saved before a restart could not be submitted', { worker: worker.id, error: (error as Error).message });
        }
      }
      for (const promptId of this.store.get(worker.id)?.pending ?? []) this.follow(worker.id, promptId);
      // Saved, then the daemon died before its task was submitted.
      if (worker.status === 'running' && worker.pending.length === 0) {
        this.store.update(worker.id, { status: 'failed', results: [...worker.results, { promptId: '', outcome: 'error', text: 'the daemon stopped before the task reached the worker; send it again', costUsd: 0, finishedAt: new Date().toISOString() }] });
      }
    }
  }

  async spawn(lead: SessionSummary, params: SpawnParams): Promise<WorkerView> {
    const config = this.ctx.config;
    if (isWorkerSession(lead) && !config.allow_nesting) throw new NestingError(lead.id);
    const again = params.requestId === undefined ? undefined : this.store.ofLead(lead.id).find((worker) => worker.requestIds?.includes(params.requestId ?? ''));
    if (again) return this.view(again);
    const paradigmName = params.paradigm ?? 'coder';
    const paradigm = this.paradigms().get(paradigmName);
    if (!paradigm) throw new UnknownParadigmError(paradigmName, [...this.paradigms().keys()]);
    const id = `w-${crypto.randomBytes(5).toString('hex')}`;
    const name = params.name ?? id;
    // Reserved before the first await: calls made at the same time cannot pass the limit together.
    const reservation = this.reserve(lead.id, name);
    try {
      return await this.build(lead, params, id, name, paradigmName, paradigm);
    } finally {
      reservation.dispose();
    }
  }

  private reserve(leadId: string, name: string): Disposable {
    const reserved = this.spawning.get(leadId) ?? [];
    const taken = [...this.activeWorkers(leadId).map((worker) => worker.name), ...reserved];
    if (taken.length >= this.ctx.config.max_workers) throw new WorkerLimitError(leadId, this.ctx.config.max_workers);
    if (taken.includes(name)) throw new WorkerStateError(name, 'this session already has a worker of that name; choose another');
    this.checkLeadBudget(leadId);
    this.spawning.set(leadId, [...reserved, name]);
    return {
      dispose: () => {
        const left = (this.spawning.get(leadId) ?? []).filter((n) => n !== name);
        if (left.length > 0) this.spawning.set(leadId, left);
        else this.spawning.delete(leadId);
      },
    };
  }

  private async build(lead: SessionSummary, params: SpawnParams, id: string, name: string, paradigmName: string, paradigm: Paradigm): Promise<WorkerView> {
    const leadGit = sessionGit(this.ctx, lead.id);
    const repo = params.worktree === false ? undefined : await repoInfo(leadGit, lead.cwd);
    if (params.worktree === true && !repo) throw new NotARepositoryError(lead.cwd);
    let worktree: Worker['worktree'];
    let cwd = lead.cwd;
    if (repo) {
      const dir = worktreePath(repo.gitDir, id);
      const branch = `subagent/${id}`;
      await addWorktree(leadGit, repo, dir, branch);
      worktree = { repo: repo.topLevel, gitDir: repo.gitDir, path: dir, branch, base: repo.head, leadBranch: repo.branch ?? repo.head };
      if (params.include_uncommitted) {
        try {
          await copyUncommitted(leadGit, repo, dir);
        } catch (error) {
          await this.discardWorktree(lead.id, worktree).catch(() => undefined);
          throw error;
        }
      }
      cwd = path.join(dir, repo.prefix);
    }
    const draft: Omit<Worker, 'sessionId'> = {
      id,
      name,
      lead: lead.id,
      user: lead.user,
      paradigm: paradigmName,
      role: paradigm,
      task: params.task,
      ...(params.model ? { model: params.model } : {}),
      ...(params.budget_usd !== undefined ? { budgetUsd: params.budget_usd } : {}),
      createdAt: new Date().toISOString(),
      ...(worktree ? { worktree } : {}),
      status: 'running',
      pending: [],
      results: [],
      reported: false,
    };
    this.registerTemplate(draft);
    let session: SessionSummary;
    try {
      session = this.ctx.sessions.create({
        user: lead.user,
        name: name === id ? id : `${name} ${id}`,
        cwd,
        template: templateName(id),
        // Background: frontends do not take it for a chat; its lead: they show it under that one.
        labels: { ...backgroundLabels(this.ctx.name), ...leadLabels(lead.id), [WORKER_LABEL]: id },
      });
    } catch (error) {
      this.templates.get(id)?.dispose();
      this.templates.delete(id);
      if (worktree) await this.discardWorktree(lead.id, worktree).catch(() => undefined);
      throw error;
    }
    this.store.save({ ...draft, sessionId: session.id });
    this.ctx.record('subagent_spawned', { worker: id, lead: lead.id, session: session.id, paradigm: paradigmName, worktree: worktree?.path ?? null });
    const worker = this.submit(id, params.task, params.requestId);
    return this.view(worker);
  }

  list(leadId: string): WorkerView[] {
    return this.store.ofLead(leadId).filter((worker) => !worker.removed).map((worker) => this.view(worker));
  }

  status(leadId: string, ref: string): WorkerStatusView {
    const worker = this.find(leadId, ref);
    const session = this.ctx.sessions.get(worker.sessionId);
    const result = worker.results.at(-1);
    return {
      ...this.view(worker),
      queued: Math.max(0, worker.pending.length - 1),
      lastToolCalls: this.toolCalls.get(worker.sessionId) ?? [],
      ...(result ? { result: { ...result, text: result.text.slice(0, 2000) } } : {}),
      ...(session ? {} : { removed: true }),
    };
  }

  result(leadId: string, ref: string): { worker: WorkerView; result: WorkerResult | undefined } {
    const worker = this.find(leadId, ref);
    if (worker.status !== 'running' && !worker.reported) this.store.update(worker.id, { reported: true });
    return { worker: this.view(worker), result: worker.results.at(-1) };
  }

  send(leadId: string, ref: string, message: string, requestId?: string): WorkerView {
    const worker = this.find(leadId, ref);
    if (requestId !== undefined && worker.requestIds?.includes(requestId)) return this.view(worker);
    if (worker.removed) throw new WorkerStateError(worker.id, 'it was removed');
    this.checkLeadBudget(leadId);
    const spent = workerCost(worker);
    if (worker.budgetUsd !== undefined && spent >= worker.budgetUsd) throw new BudgetError('worker', worker.budgetUsd, spent);
    return this.view(this.submit(worker.id, message, requestId));
  }

  async stop(leadId: string, ref: string): Promise<WorkerView> {
    const worker = this.find(leadId, ref);
    if (worker.status === 'running' && this.ctx.sessions.get(worker.sessionId)) await this.ctx.sessions.stop(worker.sessionId, { clear: true });
    return this.view(this.store.get(worker.id) ?? worker);
  }

  /** Waits until any or all of the workers have finished, or the timeout; the finished ones count as reported. */
  async wait(leadId: string, refs: readonly string[] | undefined, mode: 'any' | 'all', timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    const ids = refs
      ? refs.map((ref) => this.find(leadId, ref).id)
      : this.store
          .ofLead(leadId)
          .filter((worker) => !worker.removed && (worker.status === 'running' || !worker.reported))
          .map((worker) => worker.id);
    const workersNow = (): Worker[] => ids.map((id) => this.store.get(id)).filter((worker): worker is Worker => worker !== undefined);
    const look = await this.waits.until(
      leadId,
      () => {
        const workers = workersNow();
        const finished = workers.filter((worker) => worker.status !== 'running');
        return { done: mode === 'any' ? finished.length > 0 || workers.length === 0 : finished.length === workers.length, value: workers };
      },
      Date.now() + timeoutMs,
      signal,
    );
    const finished = look.value.filter((worker) => worker.status !== 'running');
    for (const worker of finished) this.store.update(worker.id, { reported: true });
    return {
      finished: finished.map((worker) => ({ ...this.view(worker), ...(worker.results.at(-1) ? { result: worker.results.at(-1) } : {}) })),
      pending: look.value.filter((worker) => worker.status === 'running').map((worker) => worker.id),
      timedOut: !look.done,
    };
  }

  /** A worker by id or by the name its lead gave it; only the lead's own. */
  find(leadId: string, ref: string): Worker {
    const mine = this.store.ofLead(leadId);
    const worker = mine.find((w) => w.id === ref) ?? mine.find((w) => w.name === ref && !w.removed);
    if (!worker) throw new WorkerNotFoundError(ref);
    return worker;
  }

  activeWorkers(leadId: string): Worker[] {
    return this.store.ofLead(leadId).filter((worker) => !worker.removed);
  }

  leadSpent(leadId: string): number {
    return this.store.ofLead(leadId).reduce((sum, worker) => sum + this.costOf(worker), 0);
  }

  costOf(worker: Worker): number {
    return Math.max(workerCost(worker), this.ctx.sessions.get(worker.sessionId)?.counters.costUsd ?? 0);
  }

  view(worker: Worker): WorkerView {
    return {
      id: worker.id,
      name: worker.name,
      lead: worker.lead,
      user: worker.user,
      session: worker.sessionId,
      paradigm: worker.paradigm,
      status: worker.status,
      task: worker.task.length > 300 ? `${worker.task.slice(0, 300)}…` : worker.task,
      costUsd: this.costOf(worker),
      createdAt: worker.createdAt,
      ...(worker.worktree ? { worktree: worker.worktree.path, branch: worker.worktree.branch } : {}),
      merged: worker.mergedCommit !== undefined,
      removed: worker.removed === true,
    };
  }

  /** Every session event: the workers' recent tool calls. */
  observe(event: { type: string; sessionId: string; name?: string; input?: unknown }): void {
    if (event.type !== 'tool_use' || event.name === undefined) return;
    const worker = this.store.all().find((w) => w.sessionId === event.sessionId);
    if (!worker) return;
    const calls = this.toolCalls.get(event.sessionId) ?? [];
    calls.push({ name: event.name, input: JSON.stringify(event.input ?? {}).slice(0, 200), at: new Date().toISOString() });
    this.toolCalls.set(event.sessionId, calls.slice(-TOOL_CALLS_KEPT));
  }

  /** Marks a worker removed and forgets its template (its session is gone). */
  markRemoved(workerId: string): void {
    this.templates.get(workerId)?.dispose();
    this.templates.delete(workerId);
    const worker = this.store.get(workerId);
    if (worker) this.toolCalls.delete(worker.sessionId);
    this.store.update(workerId, { removed: true, ...(worker?.status === 'running' ? { status: 'stopped' as const, pending: [] } : {}) });
    this.waits.changed();
  }

  /** Saves the prompt with the worker (and the request that asked for it), then submits it under that id. */
  private submit(workerId: string, text: string, requestId: string | undefined): Worker {
    const worker = this.store.get(workerId);
    if (!worker) throw new WorkerNotFoundError(workerId);
    const promptId = newId('p');
    const requestIds = requestId === undefined ? worker.requestIds : [...(worker.requestIds ?? []), requestId].slice(-REQUESTS_KEPT);
    this.store.update(workerId, { status: 'running', pending: [...worker.pending, promptId], reported: false, unsent: { promptId, text }, ...(requestIds ? { requestIds } : {}) });
    return this.sendUnsent(workerId);
  }

  private sendUnsent(workerId: string): Worker {
    const worker = this.store.get(workerId);
    if (!worker?.unsent) throw new WorkerNotFoundError(workerId);
    const { promptId, text } = worker.unsent;
    try {
      this.ctx.sessions.submit({ user: worker.user, session: worker.sessionId, text, options: worker.model ? { model: worker.model } : {}, promptId });
    } catch (error) {
      const pending = worker.pending.filter((id) => id !== promptId);
      this.store.update(workerId, { unsent: undefined, pending, ...(pending.length === 0 ? { status: 'failed' as const } : {}) });
      throw error;
    }
    const updated = this.store.update(workerId, { unsent: undefined });
    this.follow(workerId, promptId);
    return updated;
  }

  private follow(workerId: string, promptId: string): void {
    if (this.followed.has(promptId)) return;
    this.followed.add(promptId);
    const worker = this.store.get(workerId);
    if (!worker) return;
    const timeout = this.armTimeout(worker, promptId);
    this.ctx.sessions.waitForPrompt(worker.sessionId, promptId).then(
      (record) => {
        timeout?.dispose();
        this.finish(workerId, record);
      },
      (error: unknown) => {
        timeout?.dispose();
        this.followed.delete(promptId);
        // The extension stopped: the next start follows the prompt again.
        if (/the extension stopped/.test(String(error))) return;
        this.finishLost(workerId, promptId, (error as Error).message ?? String(error));
      },
    );
  }

  /**
   * Ends a worker's prompt that runs longer than `prompt_timeout`, counted from when it started: a
   * prompt still queued is looked at again a period later.
   */
  private armTimeout(worker: Worker, promptId: string): Disposable | undefined {
    const limit = this.ctx.config.prompt_timeout;
    if (!limit) return undefined;
    let timer: Disposable | undefined;
    const look = (): void => {
      let record: PromptRecord;
      try {
        record = this.ctx.sessions.getPrompt(worker.sessionId, promptId);
      } catch {
        return;
      }
      if (record.status === 'done') return;
      const endsAt = record.startedAt ? Date.parse(record.startedAt) + limit : Date.now() + limit;
      if (record.status === 'running' && endsAt <= Date.now()) {
        this.timedOut.add(promptId);
        void this.ctx.sessions.stop(worker.sessionId).catch(() => undefined);
        return;
      }
      timer = this.ctx.setTimeout(look, Math.max(0, endsAt - Date.now()));
    };
    look();
    return { dispose: () => timer?.dispose() };
  }

  private finish(workerId: string, record: PromptRecord): void {
    const result = record.result;
    const outcome = this.timedOut.delete(record.id) ? 'timeout' : (result?.outcome ?? 'error');
    this.settle(workerId, record.id, {
      promptId: record.id,
      outcome,
      text: (result?.text ?? 'the prompt ended without a result').slice(0, MAX_RESULT_CHARS),
      costUsd: result?.costUsd ?? 0,
      finishedAt: record.finishedAt ?? new Date().toISOString(),
    });
  }

  private finishLost(workerId: string, promptId: string, reason: string): void {
    this.settle(workerId, promptId, { promptId, outcome: 'error', text: `the worker's prompt was lost: ${reason}`, costUsd: 0, finishedAt: new Date().toISOString() });
  }

  private settle(workerId: string, promptId: string, result: WorkerResult): void {
    const worker = this.store.get(workerId);
    if (!worker || !worker.pending.includes(promptId)) return;
    const pending = worker.pending.filter((id) => id !== promptId);
    const status: WorkerStatus = pending.length > 0 ? 'running' : statusOf(result.outcome);
    const updated = this.store.update(workerId, { pending, status, results: [...worker.results, result], reported: false });
    this.ctx.record('subagent_finished', { worker: workerId, lead: worker.lead, outcome: result.outcome, cost_usd: result.costUsd });
    this.waits.changed();
    if (status !== 'running') this.noticeLead(updated);
  }

  /** The lead is idle and not waiting: the result reaches it as a short prompt. */
  private noticeLead(worker: Worker): void {
    if (!this.ctx.config.notify_lead || this.waits.isWaiting(worker.lead)) return;
    const lead = this.ctx.sessions.get(worker.lead);
    if (!lead || lead.status !== 'idle' || lead.queued > 0 || lead.currentPromptId) return;
    const result = worker.results.at(-1);
    const summary = (result?.text ?? '').replace(/\s+/g, ' ').slice(0, 400);
    const text = `[subagent] Worker ${worker.name} (${worker.id}) finished: ${worker.status}. ${summary}\nRead its whole result with subagent_result, its changes with subagent_diff.`;
    try {
      this.ctx.sessions.submit({ user: worker.user, session: lead.id, text });
      this.store.update(worker.id, { reported: true });
    } catch (error) {
      this.ctx.logger.warn('could not tell a lead that its worker finished', { worker: worker.id, lead: lead.id, error });
    }
  }

  private checkLeadBudget(leadId: string): void {
    const budget = this.ctx.config.lead_budget_usd;
    if (budget === undefined) return;
    const spent = this.leadSpent(leadId);
    if (spent >= budget) throw new BudgetError('lead', budget, spent);
  }

  private registerTemplate(worker: Omit<Worker, 'sessionId'>): void {
    if (this.templates.has(worker.id)) return;
    this.templates.set(worker.id, this.ctx.addTemplate(workerTemplate(worker, this.ctx.name, this.ctx.config.allow_nesting)));
  }

  private async discardWorktree(leadId: string, worktree: NonNullable<Worker['worktree']>): Promise<void> {
    const git = sessionGit(this.ctx, leadId);
    await git(['-C', worktree.repo, 'worktree', 'remove', '--force', worktree.path]);
    await git(['-C', worktree.repo, 'branch', '-D', worktree.branch]);
  }
}

function statusOf(outcome: string): WorkerStatus {
  if (outcome === 'success') return 'done';
  if (outcome === 'stopped' || outcome === 'cancelled') return 'stopped';
  return 'failed';
}

import fs from 'node:fs';
import path from 'node:path';
import type { ExtensionContext, SessionSummary } from 'claude-ext/extension';
import { WorkerStateError } from './errors.ts';
import { forgetWorktree, hasUncommittedChanges, mergeBranch, repoInfo, unmergedCommits, worktreeDiff, type WorktreeDiff } from './git.ts';
import { daemonGit, sessionGit } from './git-runners.ts';
import type { SubagentConfig } from './config.ts';
import type { Supervisor } from './supervisor.ts';
import type { Worker, WorkerWorktree } from './worker-store.ts';

export interface MergeReport {
  readonly worker: string;
  readonly merged: boolean;
  readonly commit?: string;
  readonly into?: string;
  readonly conflicts?: readonly string[];
  readonly detail?: string;
  /** Changes in the worker's worktree that were never committed, and so not merged. */
  readonly uncommitted?: boolean;
}

export interface CleanupReport {
  readonly removed: readonly string[];
  readonly kept: readonly { readonly worker: string; readonly reason: string }[];
}

/** What a worker changed, merging it into its lead, and removing workers with their worktrees. */
export class WorktreeOps {
  constructor(
    private readonly ctx: ExtensionContext<SubagentConfig>,
    private readonly supervisor: Supervisor,
  ) {}

  async diff(lead: SessionSummary, ref: string): Promise<WorktreeDiff & { readonly worker: string; readonly base: string; readonly branch: string }> {
    const worker = this.supervisor.find(lead.id, ref);
    const worktree = requireWorktree(worker);
    const diff = await worktreeDiff(this.gitFor(worker, lead), worktree.path, worktree.base);
    return { worker: worker.id, base: worktree.base, branch: worktree.branch, ...diff };
  }

  async merge(lead: SessionSummary, ref: string): Promise<MergeReport> {
    const worker = this.supervisor.find(lead.id, ref);
    const worktree = requireWorktree(worker);
    if (worker.status === 'running') throw new WorkerStateError(worker.id, 'it is still working: wait for it (subagent_wait) or stop it first');
    const leadGit = sessionGit(this.ctx, lead.id);
    const repo = await repoInfo(leadGit, lead.cwd);
    if (!repo || repo.gitDir !== worktree.gitDir) throw new WorkerStateError(worker.id, `this session's directory ${lead.cwd} is not in the repository ${worktree.repo} the worker's branch belongs to`);
    const uncommitted = worker.removed ? false : await hasUncommittedChanges(this.gitFor(worker, lead), worktree.path).catch(() => false);
    const title = worker.task.split('\n')[0]?.slice(0, 60) ?? '';
    const outcome = await mergeBranch(leadGit, lead.cwd, worktree.branch, `Merge subagent ${worker.name} (${worker.id}): ${title}`);
    if (!outcome.merged) {
      this.ctx.record('subagent_merge_conflict', { worker: worker.id, lead: lead.id, files: outcome.conflicts.length });
      return { worker: worker.id, merged: false, conflicts: outcome.conflicts, detail: `the merge was aborted; the branch ${worktree.branch} and this tree are as they were. ${outcome.detail}`, uncommitted };
    }
    this.supervisor.store.update(worker.id, { mergedCommit: outcome.commit });
    this.ctx.record('subagent_merged', { worker: worker.id, lead: lead.id, commit: outcome.commit });
    return { worker: worker.id, merged: true, commit: outcome.commit, into: repo.branch ?? repo.head, uncommitted };
  }

  /** Removes workers and their worktrees; a worktree with work not merged is refused unless `force`. */
  async cleanup(leadId: string, ref: string, force: boolean): Promise<CleanupReport> {
    const hasWorktree = (worker: Worker): boolean => worker.worktree !== undefined && fs.existsSync(worker.worktree.path);
    const workers = ref === 'all' ? this.supervisor.store.ofLead(leadId).filter((worker) => !worker.removed || hasWorktree(worker)) : [this.supervisor.find(leadId, ref)];
    const removed: string[] = [];
    const kept: { worker: string; reason: string }[] = [];
    for (const worker of workers) {
      if (worker.removed && !hasWorktree(worker)) {
        removed.push(worker.id);
        continue;
      }
      const unmerged = force ? undefined : await this.unmergedWork(worker);
      if (unmerged) {
        kept.push({ worker: worker.id, reason: `${unmerged}; merge it (subagent_merge) or pass force: true to throw it away` });
        continue;
      }
      await this.remove(worker, true);
      removed.push(worker.id);
    }
    return { removed, kept };
  }

  /** The lead was deleted: its workers go, and so do their worktrees unless they hold work not merged. */
  async leadDeleted(leadId: string): Promise<void> {
    for (const worker of this.supervisor.activeWorkers(leadId)) {
      const unmerged = await this.unmergedWork(worker).catch((error: unknown) => `could not check: ${(error as Error).message}`);
      await this.remove(worker, unmerged === undefined);
      if (unmerged && worker.worktree) {
        this.ctx.logger.warn(`the lead ${leadId} was deleted; the worktree of its worker ${worker.id} is kept: ${unmerged}`, { worktree: worker.worktree.path, branch: worker.worktree.branch });
        this.ctx.record('subagent_worktree_kept', { worker: worker.id, lead: leadId, worktree: worker.worktree.path, branch: worker.worktree.branch, reason: unmerged });
      }
    }
  }

  /** What would be lost by removing the worker's worktree, or undefined when nothing would. */
  private async unmergedWork(worker: Worker): Promise<string | undefined> {
    const worktree = worker.worktree;
    if (!worktree || !fs.existsSync(worktree.path)) return undefined;
    const commits = await unmergedCommits(daemonGit(this.ctx), worktree.repo, worktree.branch, worktree.leadBranch);
    // git status runs in a sandbox (the worker's, else the lead's): a repository's config can run commands.
    const checker = [worker.sessionId, worker.lead].find((id) => this.ctx.sessions.get(id) !== undefined);
    // What cannot be checked counts as work that would be lost: it is kept and reported, never removed.
    const uncommitted = checker ? await hasUncommittedChanges(sessionGit(this.ctx, checker), worktree.path).catch(() => undefined) : undefined;
    const problems = [
      ...(commits === undefined ? [`commits git could not compare with ${worktree.leadBranch}`] : commits > 0 ? [`${commits} commit${commits === 1 ? '' : 's'} not merged into ${worktree.leadBranch}`] : []),
      ...(uncommitted === undefined ? ['changes that could not be checked'] : uncommitted ? ['uncommitted changes'] : []),
    ];
    return problems.length > 0 ? `worker ${worker.id} has ${problems.join(' and ')}` : undefined;
  }

  private async remove(worker: Worker, withWorktree: boolean): Promise<void> {
    if (this.ctx.sessions.get(worker.sessionId)) {
      if (worker.status === 'running') await this.ctx.sessions.stop(worker.sessionId, { clear: true }).catch(() => undefined);
      await this.ctx.sessions.delete(worker.sessionId);
    }
    if (!worker.removed) this.supervisor.markRemoved(worker.id);
    if (worker.worktree && withWorktree) await this.removeWorktree(worker.lead, worker.worktree);
    this.ctx.record('subagent_removed', { worker: worker.id, lead: worker.lead, worktree_removed: withWorktree });
  }

  /** In the lead's sandbox while the lead lives (a path it names is followed with its rights); by the daemon once it is gone. */
  private async removeWorktree(leadId: string, worktree: WorkerWorktree): Promise<void> {
    if (this.ctx.sessions.get(leadId)) {
      const git = sessionGit(this.ctx, leadId);
      const removed = await git(['-C', worktree.repo, 'worktree', 'remove', '--force', '--force', worktree.path]);
      if (removed.exitCode !== 0) throw new Error(`git could not remove the worktree ${worktree.path}: ${removed.stderr.trim() || removed.stdout.trim()}`);
      await forgetWorktree(git, worktree.repo, worktree.branch);
      return;
    }
    // The daemon removes it itself only inside the repository's own worktree folder, never through a link out of it.
    const home = fs.realpathSync(path.join(worktree.gitDir, 'subagent-worktrees'));
    const target = fs.existsSync(worktree.path) ? fs.realpathSync(worktree.path) : undefined;
    if (target && !target.startsWith(home + path.sep)) throw new Error(`refusing to remove ${worktree.path}: it leads out of ${home}`);
    if (target) fs.rmSync(target, { recursive: true, force: true });
    await forgetWorktree(daemonGit(this.ctx), worktree.repo, worktree.branch);
  }

  /** The worker's own sandbox while its session lives; the lead's once it is removed. */
  private gitFor(worker: Worker, lead: SessionSummary) {
    return sessionGit(this.ctx, this.ctx.sessions.get(worker.sessionId) ? worker.sessionId : lead.id);
  }
}

function requireWorktree(worker: Worker): WorkerWorktree {
  if (!worker.worktree) throw new WorkerStateError(worker.id, 'it works in its lead\'s directory, not in a worktree of its own: there is no branch to diff or merge');
  if (!fs.existsSync(worker.worktree.path)) throw new WorkerStateError(worker.id, `its worktree ${worker.worktree.path} was removed`);
  return worker.worktree;
}

import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, readJsonFile, writeJsonAtomic } from 'claude-ext/extension';
import type { Paradigm } from './paradigms.ts';
import type { WorkerResult, WorkerStatus } from './protocol.ts';

/** Where a worker works when it has a git worktree of its lead's repository. */
export interface WorkerWorktree {
  /** The lead's repository: its top level, and the git directory every worktree shares. */
  readonly repo: string;
  readonly gitDir: string;
  readonly path: string;
  readonly branch: string;
  /** The commit the worktree started from: diffs are against it. */
  readonly base: string;
  /** The lead's branch (or commit, on a detached HEAD) at spawn: commits it lacks are unmerged. */
  readonly leadBranch: string;
}

export interface Worker {
  readonly id: string;
  readonly name: string;
  readonly lead: string;
  readonly user: string;
  readonly sessionId: string;
  readonly paradigm: string;
  /** The paradigm as it was at spawn: the worker keeps its role when the configuration changes. */
  readonly role: Paradigm;
  readonly task: string;
  readonly model?: string;
  readonly budgetUsd?: number;
  readonly createdAt: string;
  readonly worktree?: WorkerWorktree;
  readonly status: WorkerStatus;
  /** The tool calls that gave the worker work (its spawn, its sends), newest last: a call made again is not done twice. */
  readonly requestIds?: readonly string[];
  /** The worker's prompts without a result yet, oldest first. */
  readonly pending: readonly string[];
  /**
   * A prompt saved here before it is submitted, under the id it gets: a start that finds it submits it
   * (again: the engine returns a prompt it already has), so a crash in between loses no work and
   * queues none twice.
   */
  readonly unsent?: { readonly promptId: string; readonly text: string };
  readonly results: readonly WorkerResult[];
  /** The newest result has reached the lead (through subagent_wait or a notice). */
  readonly reported: boolean;
  readonly mergedCommit?: string;
  /** The worker's session is deleted; its worktree may remain (it held work not merged). */
  readonly removed?: boolean;
}

/** One JSON file per worker, written atomically and durably: a daemon killed at any point loses none. */
export class WorkerStore {
  private readonly byId = new Map<string, Worker>();

  constructor(private readonly dir: string) {
    ensurePrivateDir(dir);
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      const worker = readJsonFile<Worker>(path.join(dir, name));
      if (worker) this.byId.set(worker.id, worker);
    }
  }

  get(id: string): Worker | undefined {
    return this.byId.get(id);
  }

  all(): Worker[] {
    return [...this.byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  ofLead(lead: string): Worker[] {
    return this.all().filter((worker) => worker.lead === lead);
  }

  save(worker: Worker): Worker {
    writeJsonAtomic(this.file(worker.id), worker, { durable: true });
    this.byId.set(worker.id, worker);
    return worker;
  }

  update(id: string, change: Partial<Worker>): Worker {
    const current = this.byId.get(id);
    if (!current) throw new Error(`no worker ${id}`);
    return this.save({ ...current, ...change });
  }

  delete(id: string): void {
    fs.rmSync(this.file(id), { force: true });
    this.byId.delete(id);
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

export function workerCost(worker: Worker): number {
  return worker.results.reduce((sum, result) => sum + result.costUsd, 0);
}

/** subagent's bridge methods: names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';

export const METHODS = {
  spawn: 'subagent.spawn',
  list: 'subagent.list',
  status: 'subagent.status',
  wait: 'subagent.wait',
  result: 'subagent.result',
  send: 'subagent.send',
  stop: 'subagent.stop',
  diff: 'subagent.diff',
  merge: 'subagent.merge',
  cleanup: 'subagent.cleanup',
  tree: 'subagent.tree',
} as const;

/** The longest `subagent_wait` may wait in one call. */
export const MAX_WAIT_SECONDS = 3600;

export const paradigmName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lowercase letters, digits, "-" and "_", starting with a letter');
export const workerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, '1-40 letters, digits, ".", "_" or "-"');
/** A worker's id (`w-…`) or the name its lead gave it. */
export const workerRef = z.string().min(1).max(64);

/** Chosen once per tool call: the same call made again after a daemon restart finds what the first did. */
const requestId = z.string().min(8).max(100).optional();

export const spawnParams = z.object({
  requestId,
  task: z.string().min(1).max(100_000),
  paradigm: paradigmName.optional(),
  name: workerName.optional(),
  worktree: z.boolean().optional(),
  include_uncommitted: z.boolean().default(false),
  model: z.string().min(1).max(100).optional(),
  budget_usd: z.number().positive().max(10_000).optional(),
});
export type SpawnParams = z.output<typeof spawnParams>;

export const noParams = z.object({});
export const refParams = z.object({ id: workerRef });
export const waitParams = z.object({
  ids: z.array(workerRef).max(100).optional(),
  mode: z.enum(['any', 'all']).default('all'),
  timeout_s: z.number().positive().max(MAX_WAIT_SECONDS).default(600),
});
export const sendParams = z.object({ requestId, id: workerRef, message: z.string().min(1).max(100_000) });
export const cleanupParams = z.object({ id: z.union([workerRef, z.literal('all')]), force: z.boolean().default(false) });
export const treeParams = z.object({ lead: z.string().min(1).max(200).optional(), user: z.string().min(1).max(128).optional() });

export type WorkerStatus = 'running' | 'done' | 'failed' | 'stopped';

export interface WorkerResult {
  readonly promptId: string;
  readonly outcome: string;
  readonly text: string;
  readonly costUsd: number;
  readonly finishedAt: string;
}

export interface WorkerView {
  readonly id: string;
  readonly name: string;
  readonly lead: string;
  readonly user: string;
  readonly session: string;
  readonly paradigm: string;
  readonly status: WorkerStatus;
  readonly task: string;
  readonly costUsd: number;
  readonly createdAt: string;
  readonly worktree?: string;
  readonly branch?: string;
  readonly merged: boolean;
  readonly removed: boolean;
}

export interface WorkerStatusView extends WorkerView {
  /** Prompts waiting behind the running one. */
  readonly queued: number;
  readonly lastToolCalls: readonly { readonly name: string; readonly input: string; readonly at: string }[];
  readonly result?: WorkerResult;
}

export interface WaitOutcome {
  readonly finished: readonly (WorkerView & { readonly result?: WorkerResult })[];
  readonly pending: readonly string[];
  readonly timedOut: boolean;
}

export interface LeadTree {
  readonly lead: { readonly id: string; readonly name: string; readonly user: string; readonly status: string; readonly costUsd: number } | { readonly id: string; readonly gone: true };
  readonly workers: readonly WorkerView[];
  readonly costUsd: number;
}

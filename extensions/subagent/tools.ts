import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { MAX_WAIT_SECONDS, METHODS, paradigmName, workerName, workerRef } from './protocol.ts';

const id = workerRef.describe('The worker: its id (w-…) or the name you gave it');

/** The lead's tools; workers do not get them unless subagent.allow_nesting is on. */
export const tools = [
  defineTool({
    name: 'subagent_spawn',
    description:
      'Start a worker: a separate Claude session of the same user that works on `task` on its own, while you go on. ' +
      'In a git repository it gets its own worktree on a branch subagent/<id> (from your HEAD), so workers do not get in each other\'s way; ' +
      'read its changes with subagent_diff and take them with subagent_merge. Returns the worker; collect its result with subagent_wait.',
    input: {
      task: z.string().min(1).max(100_000).describe('What the worker should do, self-contained: it does not see your conversation'),
      paradigm: paradigmName.optional().describe('Its role: coder (default), reviewer, researcher, tester, or one from the configuration'),
      name: workerName.optional().describe('A short name to refer to it by'),
      worktree: z.boolean().optional().describe('Give it a git worktree of its own (default: yes when your directory is in a git repository)'),
      include_uncommitted: z.boolean().optional().describe('Copy your uncommitted changes into its worktree'),
      model: z.string().min(1).max(100).optional().describe('The model it runs on (default: the usual one)'),
      budget_usd: z.number().positive().max(10_000).optional().describe('The most it may spend: once reached it takes no more messages'),
    },
    // Made again after a daemon restart, the call finds the worker it started by its call id.
    annotations: { destructiveHint: false, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.spawn, { ...args, requestId: ctx.callId }, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_list',
    description: 'List your workers with their status and cost.',
    input: {},
    annotations: { readOnlyHint: true },
    handler: (_args, ctx) => ctx.bridge.call(METHODS.list, {}, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_status',
    description: "A worker's status, queued messages, cost and its last tool calls.",
    input: { id },
    annotations: { readOnlyHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.status, args, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_wait',
    description:
      'Wait for workers to finish and get their results. mode "all" (default) waits for every one, "any" for the first. ' +
      'Without ids: your workers that are running or whose result you have not seen yet.',
    input: {
      ids: z.array(workerRef).max(100).optional().describe('Workers to wait for (ids or names)'),
      mode: z.enum(['any', 'all']).optional(),
      timeout_s: z.number().positive().max(MAX_WAIT_SECONDS).optional().describe('Seconds to wait at most (default 600)'),
    },
    // Waiting again finds the same workers: after a daemon restart the call is simply made again.
    annotations: { readOnlyHint: true, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.wait, args, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_result',
    description: "A worker's latest result, in full.",
    input: { id },
    annotations: { readOnlyHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.result, args, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_send',
    description: 'Send a worker a follow-up message; it works on it after what it is doing now. Collect the answer with subagent_wait.',
    input: { id, message: z.string().min(1).max(100_000) },
    annotations: { destructiveHint: false, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.send, { ...args, requestId: ctx.callId }, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_stop',
    description: "Stop a worker's current work and drop its queued messages. It keeps its worktree and can be sent more.",
    input: { id },
    annotations: { destructiveHint: true, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.stop, args, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_diff',
    description: "What a worker changed in its worktree against the commit it started from: its commits, a stat, the patch (cut when long) and files it did not add.",
    input: { id },
    annotations: { readOnlyHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.diff, args, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_merge',
    description:
      "Merge a finished worker's branch into the branch checked out in your directory. On a conflict the merge is aborted (your tree is left as it was) and the conflicting files are listed. Only committed work is merged.",
    input: { id },
    annotations: { destructiveHint: false },
    handler: (args, ctx) => ctx.bridge.call(METHODS.merge, args, { signal: ctx.signal }),
  }),
  defineTool({
    name: 'subagent_cleanup',
    description:
      'Remove a worker (or "all" of yours): its session, its worktree and its branch. A worktree with commits not merged or uncommitted changes is kept and reported, unless force is true.',
    input: { id: z.union([workerRef, z.literal('all')]).describe('A worker, or "all"'), force: z.boolean().optional().describe('Also throw away work that was not merged') },
    annotations: { destructiveHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.cleanup, args, { signal: ctx.signal }),
  }),
];

import fs from 'node:fs';
import path from 'node:path';
import type { BridgeCall, Extension, ExtensionContext } from 'claude-ext/extension';
import { configSchema, type SubagentConfig } from './config.ts';
import { paradigmsFrom, type Paradigm } from './paradigms.ts';
import { cleanupParams, METHODS, noParams, refParams, sendParams, spawnParams, treeParams, waitParams, type LeadTree } from './protocol.ts';
import { isWorkerSession, Supervisor } from './supervisor.ts';
import { tools } from './tools.ts';
import { WorkerStore, type Worker } from './worker-store.ts';
import { WorktreeOps } from './worktree-ops.ts';

/** How often leads and workers are looked at for deleted sessions. */
const SWEEP_MS = 3000;

export default (): Extension<SubagentConfig> => {
  let supervisor: Supervisor | undefined;
  let paradigms: ReadonlyMap<string, Paradigm> = new Map();
  return {
    name: 'subagent',
    description: 'Lets a session start worker sessions, each in a git worktree of its own, wait for them and merge their work',
    configSchema,
    start(ctx) {
      paradigms = paradigmsFrom(ctx.config.paradigms);
      const store = new WorkerStore(path.join(ctx.dataDir, 'workers'));
      const workers = new Supervisor(ctx, store, () => paradigms);
      supervisor = workers;
      const ops = new WorktreeOps(ctx, workers);
      workers.resume();

      ctx.onEvent((event) => {
        if (event.type === 'tool_use') workers.observe(event);
        // Stopping a lead stops its workers, busy or idle; the daemon stopping a turn whose call a restart cut is no stop.
        if (event.type === 'stop') {
          for (const worker of workers.activeWorkers(event.sessionId)) if (worker.status === 'running') void workers.stop(event.sessionId, worker.id).catch(() => undefined);
        }
      });
      let sweeping = false;
      ctx.setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        void sweep(ctx, workers, ops).finally(() => (sweeping = false));
      }, SWEEP_MS);

      const lead = (call: BridgeCall<'session'>) => call.session;
      ctx.addBridgeMethod(METHODS.spawn, { params: spawnParams }, (p, call) => workers.spawn(lead(call), p));
      ctx.addBridgeMethod(METHODS.list, { params: noParams }, (_p, call) => workers.list(lead(call).id));
      ctx.addBridgeMethod(METHODS.status, { params: refParams }, (p, call) => workers.status(lead(call).id, p.id));
      ctx.addBridgeMethod(METHODS.wait, { params: waitParams }, (p, call) => workers.wait(lead(call).id, p.ids, p.mode, p.timeout_s * 1000, call.signal));
      ctx.addBridgeMethod(METHODS.result, { params: refParams }, (p, call) => workers.result(lead(call).id, p.id));
      ctx.addBridgeMethod(METHODS.send, { params: sendParams }, (p, call) => workers.send(lead(call).id, p.id, p.message, p.requestId));
      ctx.addBridgeMethod(METHODS.stop, { params: refParams }, (p, call) => workers.stop(lead(call).id, p.id));
      ctx.addBridgeMethod(METHODS.diff, { params: refParams }, (p, call) => ops.diff(lead(call), p.id));
      ctx.addBridgeMethod(METHODS.merge, { params: refParams }, (p, call) => ops.merge(lead(call), p.id));
      ctx.addBridgeMethod(METHODS.cleanup, { params: cleanupParams }, (p, call) => ops.cleanup(lead(call).id, p.id, p.force));
      ctx.addBridgeMethod(METHODS.tree, { params: treeParams, access: 'admin' }, (p) => trees(ctx, workers, p.lead, p.user));

      ctx.addTools({
        server: 'subagent',
        tools,
        instructions:
          'The subagent tools start worker sessions that work in parallel, each in a git worktree of its own: spawn them with self-contained tasks, ' +
          'collect results with subagent_wait, review with subagent_diff, take their work with subagent_merge and remove them with subagent_cleanup.',
        when: (session) => !isWorkerSession(session) || ctx.config.allow_nesting,
      });
    },
    reconfigure(next) {
      paradigms = paradigmsFrom(next.paradigms);
    },
    healthCheck() {
      if (!supervisor) return { status: 'error', reason: 'not started' };
      const all = supervisor.store.all().filter((worker) => !worker.removed);
      const running = all.filter((worker) => worker.status === 'running').length;
      return { status: 'ok', detail: `${all.length} worker${all.length === 1 ? '' : 's'}, ${running} running` };
    },
  };
};

/** Deleted leads take their workers with them; workers whose sessions were deleted are marked removed. */
async function sweep(ctx: ExtensionContext<SubagentConfig>, workers: Supervisor, ops: WorktreeOps): Promise<void> {
  const active = workers.store.all().filter((worker) => !worker.removed);
  for (const leadId of new Set(active.map((worker) => worker.lead))) {
    if (ctx.sessions.get(leadId)) continue;
    await ops.leadDeleted(leadId).catch((error: unknown) => ctx.logger.warn('could not remove the workers of a deleted lead', { lead: leadId, error }));
  }
  for (const worker of workers.store.all()) {
    if (!worker.removed && !ctx.sessions.get(worker.sessionId)) workers.markRemoved(worker.id);
    // Nothing is left of it and its lead, whose budget it counted for, is gone too.
    else if (worker.removed && !hasWorktree(worker) && !ctx.sessions.get(worker.lead)) workers.store.delete(worker.id);
  }
}

function hasWorktree(worker: Worker): boolean {
  return worker.worktree !== undefined && fs.existsSync(worker.worktree.path);
}

function trees(ctx: ExtensionContext<SubagentConfig>, workers: Supervisor, leadRef: string | undefined, user: string | undefined): LeadTree[] {
  const leadFilter = leadRef === undefined ? undefined : (ctx.sessions.get(leadRef) ?? ctx.sessions.find(leadRef, user)).id;
  const byLead = new Map<string, ReturnType<Supervisor['list']>>();
  for (const worker of workers.store.all()) {
    if (worker.removed && !hasWorktree(worker)) continue;
    if (user !== undefined && worker.user !== user) continue;
    if (leadFilter !== undefined && worker.lead !== leadFilter) continue;
    byLead.set(worker.lead, [...(byLead.get(worker.lead) ?? []), workers.view(worker)]);
  }
  return [...byLead].map(([leadId, list]) => {
    const session = ctx.sessions.get(leadId);
    const costUsd = list.reduce((sum, worker) => sum + worker.costUsd, 0);
    return {
      lead: session ? { id: session.id, name: session.name, user: session.user, status: session.status, costUsd: session.counters.costUsd } : { id: leadId, gone: true },
      workers: list,
      costUsd,
    };
  });
}

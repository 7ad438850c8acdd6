import type { ExtensionContext } from '../../core/extension-api.ts';
import type { SessionSummary } from '../../core/session-types.ts';
import type { Job, JobStore, RunOutcome } from './job-store.ts';

/** A session a `new` job ran in is removed this long after its result, so frontends can still show it. */
export const EPHEMERAL_SESSION_LINGER_MS = 60_000;

/** Marks sessions made for one run; a start removes the ones a restart left behind. */
export const EPHEMERAL_LABEL = 'cron_run';

/**
 * Runs a job's prompt: in a fresh session (removed afterwards unless `keep`) or in the job's own
 * session, resumed run after run. The session carries the job's labels, so its result reaches the
 * frontend the job was created from.
 */
export async function runJob<C>(ctx: ExtensionContext<C>, store: JobStore, job: Job): Promise<RunOutcome> {
  const session = sessionFor(ctx, store, job);
  const submitted = ctx.engine.submit({ user: job.user, session: session.id, text: job.prompt });
  const prompt = await ctx.engine.waitForPrompt(session.id, submitted.prompt.id);
  const result = prompt.result;
  if (job.sessionMode === 'new' && !job.keep) {
    ctx.setTimeout(() => void ctx.engine.deleteSession(session.id).catch(() => undefined), EPHEMERAL_SESSION_LINGER_MS);
  }
  if (!result) return { status: 'error', sessionId: session.id, promptId: prompt.id, detail: 'the prompt ended without a result' };
  return {
    status: result.outcome === 'success' ? 'success' : result.outcome === 'stopped' || result.outcome === 'cancelled' ? 'stopped' : 'error',
    costUsd: result.costUsd,
    durationMs: result.durationMs,
    sessionId: session.id,
    promptId: prompt.id,
    ...(result.outcome === 'success' ? {} : { detail: `${result.outcome}: ${result.text.slice(0, 300)}` }),
  };
}

function sessionFor<C>(ctx: ExtensionContext<C>, store: JobStore, job: Job): SessionSummary {
  if (job.sessionMode === 'reuse' && job.reuseSessionId) {
    const existing = ctx.engine.getSession(job.reuseSessionId);
    if (existing) return existing;
  }
  const labels = { ...job.labels, cron_job: job.id, ...(job.sessionMode === 'new' && !job.keep ? { [EPHEMERAL_LABEL]: 'true' } : {}) };
  const name = uniqueName(ctx, job);
  const session = ctx.engine.createSession({ user: job.user, name, labels });
  if (job.sessionMode === 'reuse') store.setReuseSession(job.id, session.id);
  return session;
}

function uniqueName<C>(ctx: ExtensionContext<C>, job: Job): string {
  const base = `cron ${job.name}`.replace(/[^\p{L}\p{N} ._-]/gu, '-').slice(0, 50);
  const taken = new Set(ctx.engine.listSessions(job.user).map((s) => s.name));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} ${i}`)) return `${base} ${i}`;
}

/** Removes the one-run sessions a restart left behind (idle, nothing queued). */
export async function removeLeftoverSessions<C>(ctx: ExtensionContext<C>): Promise<void> {
  for (const session of ctx.engine.listSessions()) {
    if (session.labels[EPHEMERAL_LABEL] === 'true' && session.status !== 'busy' && session.queued === 0) {
      await ctx.engine.deleteSession(session.id).catch(() => undefined);
    }
  }
}

import { backgroundLabels, type ExtensionContext, type SessionSummary } from 'claude-ext/extension';
import type { Job, JobStore, RunOutcome } from './job-store.ts';

/**
 * Runs a job's prompt: in a fresh ephemeral session (the engine removes it after the run unless
 * `keep`) or in the job's own
 * session, resumed run after run. The session carries the job's labels, so its result reaches the
 * frontend the job was created from.
 */
export async function runJob<C>(ctx: ExtensionContext<C>, store: JobStore, job: Job): Promise<RunOutcome> {
  const session = sessionFor(ctx, store, job);
  const submitted = ctx.sessions.submit({ user: job.user, session: session.id, text: job.prompt });
  const prompt = await ctx.sessions.waitForPrompt(session.id, submitted.prompt.id);
  const result = prompt.result;
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
    const existing = ctx.sessions.get(job.reuseSessionId);
    if (existing) return existing;
  }
  const name = uniqueName(ctx, job);
  const session = ctx.sessions.create({ user: job.user, name, labels: { ...job.labels, ...backgroundLabels(ctx.name), cron_job: job.id }, ephemeral: job.sessionMode === 'new' && !job.keep });
  if (job.sessionMode === 'reuse') store.setReuseSession(job.id, session.id);
  return session;
}

function uniqueName<C>(ctx: ExtensionContext<C>, job: Job): string {
  const base = `cron ${job.name}`.replace(/[^\p{L}\p{N} ._-]/gu, '-').slice(0, 50);
  const taken = new Set(ctx.sessions.list(job.user).map((s) => s.name));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} ${i}`)) return `${base} ${i}`;
}

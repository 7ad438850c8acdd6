import type { SessionSummary } from '../sessions/session-types.ts';

/** The label marking a session an extension runs for background work (a cron job, a heartbeat run). */
const BACKGROUND_LABEL = 'background';

/** Labels for a session that runs background work for `extension`: frontends do not treat it as a chat. */
export function backgroundLabels(extension: string): Record<string, string> {
  return { [BACKGROUND_LABEL]: extension };
}

/** Labels that marked background sessions before `background` existed; such sessions are still about. */
const EARLIER_BACKGROUND_LABELS = ['cron_job', 'heartbeat'];

export function isBackgroundSession(session: Pick<SessionSummary, 'labels'>): boolean {
  return [BACKGROUND_LABEL, ...EARLIER_BACKGROUND_LABELS].some((label) => session.labels[label] !== undefined);
}

/** The label naming the session that started this one to work for it (a lead's worker). */
const LEAD_LABEL = 'lead';

/** Labels for a session that works for the session `leadId`: frontends show it under that one. */
export function leadLabels(leadId: string): Record<string, string> {
  return { [LEAD_LABEL]: leadId };
}

/** The session this one works for, if any. */
export function leadOf(session: Pick<SessionSummary, 'labels'>): string | undefined {
  return session.labels[LEAD_LABEL];
}

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

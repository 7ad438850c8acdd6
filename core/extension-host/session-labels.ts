import type { SessionSummary } from '../sessions/session-types.ts';

/** The label marking a session an extension runs for background work (a cron job, a heartbeat run). */
const BACKGROUND_LABEL = 'background';

/** Labels for a session that runs background work for `extension`: frontends do not treat it as a chat. */
export function backgroundLabels(extension: string): Record<string, string> {
  return { [BACKGROUND_LABEL]: extension };
}

export function isBackgroundSession(session: Pick<SessionSummary, 'labels'>): boolean {
  return session.labels[BACKGROUND_LABEL] !== undefined;
}

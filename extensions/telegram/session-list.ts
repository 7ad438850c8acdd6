import { leadOf, type SessionSummary } from 'claude-ext/extension';
import { escapeHtml } from './format.ts';

/** /sessions: the chat's sessions, the active one marked, each with the sessions working for it below. */
export function sessionListHtml(chatSessions: readonly SessionSummary[], userSessions: readonly SessionSummary[], active: string | undefined): string {
  return chatSessions
    .map((s) => {
      const last = s.lastPrompt ? `\n   “${escapeHtml(s.lastPrompt.slice(0, 60))}”` : '';
      const workers = userSessions.filter((w) => leadOf(w) === s.id).map((w) => `\n   ↳ ${escapeHtml(w.name)} — ${state(w)}`);
      return `${s.id === active ? '●' : '○'} <b>${escapeHtml(s.name)}</b> — ${state(s)}\n   <code>${escapeHtml(s.cwd)}</code>${last}${workers.join('')}`;
    })
    .join('\n');
}

function state(s: SessionSummary): string {
  return `${s.status}${s.queued ? `, ${s.queued} queued` : ''}`;
}

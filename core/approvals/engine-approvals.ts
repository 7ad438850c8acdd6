import type { ClaudeEngine } from '../sessions/engine.ts';
import type { EventLog } from '../sessions/event-log.ts';
import type { Logger } from '../util/log.ts';
import { ApprovalService } from './approval-service.ts';

/** The daemon's approvals, listening to the engine's permission requests and stops. */
export function approvalsFor(engine: ClaudeEngine, options: { readonly stateDir: string; readonly eventLog: EventLog; readonly log: Logger; readonly timeoutMs: () => number }): ApprovalService {
  const approvals = new ApprovalService({
    ...options,
    engine: {
      getSession: (id) => engine.getSession(id),
      listSessions: () => engine.listSessions(),
      sessionDir: (id) => engine.sessionDir(id),
      processLaunchId: (id) => engine.permissions.processLaunchId(id),
      answerPermission: (id, launchId, requestId, answer) => engine.permissions.answer(id, launchId, requestId, answer),
      announce: (id, event) => engine.permissions.announce(id, event),
    },
  });
  engine.permissions.onPermission(({ sessionId, launchId, promptId, event }) => {
    if (event.type === 'permission_request') approvals.request({ ...event, sessionId, launchId, promptId });
    else approvals.withdrawn(sessionId, event.requestId);
  });
  engine.permissions.onStop((sessionId) => approvals.sessionStopped(sessionId));
  return approvals;
}

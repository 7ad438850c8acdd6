import type { ExtensionSessions, SessionSummary } from 'claude-ext/extension';

/** A configured exception to "only your own user's sessions": sessions of `from` may ask those of `to`. */
export interface CrossUserPair {
  readonly from: string;
  readonly to: string;
}

/** No session the caller may reach answers to the name it gave. */
export class SessionNotReachableError extends Error {
  readonly code = 'session_not_reachable';
  constructor(
    readonly ref: string,
    readonly user: string,
    readonly otherUsers: readonly string[],
  ) {
    const whose = otherUsers.length > 0 ? `of user ${user} or of ${otherUsers.join(', ')}` : `of user ${user}`;
    super(`no session "${ref}" ${whose}; session_list shows the sessions you can ask`);
    this.name = 'SessionNotReachableError';
  }
}

/** The users whose sessions a session of `user` may ask: its own first, then the configured pairs. */
export function reachableUsers(user: string, pairs: readonly CrossUserPair[]): string[] {
  return [user, ...new Set(pairs.filter((pair) => pair.from === user && pair.to !== user).map((pair) => pair.to))];
}

/**
 * The session `ref` names for a caller of `user`: an id or a name of its own sessions, else
 * `user/name` or the id of a session of a user it may reach.
 */
export function resolveTarget(sessions: Pick<ExtensionSessions, 'find' | 'get'>, user: string, ref: string, pairs: readonly CrossUserPair[]): SessionSummary {
  const [, ...others] = reachableUsers(user, pairs);
  const own = findOf(sessions, ref, user);
  if (own) return own;
  const slash = ref.lastIndexOf('/');
  if (slash > 0) {
    const owner = ref.slice(0, slash);
    if (owner === user || others.includes(owner)) {
      const found = findOf(sessions, ref.slice(slash + 1), owner);
      if (found) return found;
    }
  }
  const byId = sessions.get(ref);
  if (byId && others.includes(byId.user)) return byId;
  throw new SessionNotReachableError(ref, user, others);
}

function findOf(sessions: Pick<ExtensionSessions, 'find'>, ref: string, user: string): SessionSummary | undefined {
  try {
    return sessions.find(ref, user);
  } catch {
    return undefined;
  }
}

/** How a session is named to another: by name among its user's sessions, `user/name` across users. */
export function refFor(session: Pick<SessionSummary, 'user' | 'name'>, callerUser: string): string {
  return session.user === callerUser ? session.name : `${session.user}/${session.name}`;
}

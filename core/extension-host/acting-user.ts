import type { Principal } from '../bridge/bridge-protocol.ts';
import { RpcError, RpcErrorCode } from '../bridge/rpc-protocol.ts';

import { DEFAULT_USER } from '../sessions/users.ts';

export { DEFAULT_USER };

/**
 * The one rule for which user a bridge call acts for: a session acts for its own user only; the admin
 * acting for one user (`actingFor`, an extension's in-process call) for that user only; the admin
 * otherwise for the user it names, else `DEFAULT_USER`.
 */
export function actingUser(principal: Principal, sessionUser: string | undefined, requested: string | undefined, actingFor?: string): string {
  if (principal.kind === 'session') return ownUser(sessionUser ?? principal.user, requested, 'a session acts only for its own user');
  if (principal.kind !== 'admin') throw new RpcError(RpcErrorCode.Unauthorized, 'a caller without a credential acts for nobody');
  if (actingFor !== undefined) return ownUser(actingFor, requested, `this call acts for user "${actingFor}" only`);
  return requested ?? DEFAULT_USER;
}

/** Whose things a call may see: a session its own user's; the admin acting for a user that user's; the admin the user it names, or all users. */
export function visibleUser(principal: Principal, sessionUser: string | undefined, requested: string | undefined, actingFor?: string): string | undefined {
  if (principal.kind === 'session') return ownUser(sessionUser ?? principal.user, requested, 'a session acts only for its own user');
  if (principal.kind !== 'admin') throw new RpcError(RpcErrorCode.Unauthorized, 'a caller without a credential sees nobody\'s things');
  if (actingFor !== undefined) return ownUser(actingFor, requested, `this call acts for user "${actingFor}" only`);
  return requested;
}

function ownUser(user: string, requested: string | undefined, refusal: string): string {
  if (requested !== undefined && requested !== user) throw new RpcError(RpcErrorCode.Unauthorized, refusal);
  return user;
}

import type { Principal } from '../bridge/bridge-protocol.ts';
import { RpcError, RpcErrorCode } from '../bridge/rpc-protocol.ts';

import { DEFAULT_USER } from '../sessions/users.ts';

export { DEFAULT_USER };

/**
 * The one rule for which user a bridge call acts for: a session acts for its own user only; the admin
 * for the user it names, else `DEFAULT_USER`.
 */
export function actingUser(principal: Principal, sessionUser: string | undefined, requested: string | undefined): string {
  if (principal.kind === 'session') return ownUser(sessionUser ?? principal.user, requested);
  if (principal.kind !== 'admin') throw new RpcError(RpcErrorCode.Unauthorized, 'a caller without a credential acts for nobody');
  return requested ?? DEFAULT_USER;
}

/** Whose things a call may see: a session its own user's; the admin the user it names, or all users. */
export function visibleUser(principal: Principal, sessionUser: string | undefined, requested: string | undefined): string | undefined {
  if (principal.kind === 'session') return ownUser(sessionUser ?? principal.user, requested);
  if (principal.kind !== 'admin') throw new RpcError(RpcErrorCode.Unauthorized, 'a caller without a credential sees nobody\'s things');
  return requested;
}

function ownUser(user: string, requested: string | undefined): string {
  if (requested !== undefined && requested !== user) throw new RpcError(RpcErrorCode.Unauthorized, 'a session acts only for its own user');
  return user;
}

/** `ctx.callMethod`: an extension calls a bridge method in-process, as the admin or as the admin acting for one user. */
import { toErrorObject } from '../bridge/error-answer.ts';
import { RpcError } from '../bridge/rpc-protocol.ts';
import type { RpcServer } from '../bridge/rpc-server.ts';
import type { MethodCallOptions } from './extension-api.ts';

/**
 * Runs `method` as a socket call from the admin would run (params validated by the method's schema,
 * access checked), restricted to `options.user` when given. Failures are RpcErrors, as a socket
 * client gets them: a typed error's code and fields in `data`.
 */
export async function callMethod<T>(server: RpcServer, method: string, params: Record<string, unknown>, options: MethodCallOptions): Promise<T> {
  try {
    const result = await server.dispatch(method, params, {
      principal: { kind: 'admin' },
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.user !== undefined ? { actingFor: options.user } : {}),
    });
    return (result === undefined ? null : result) as T;
  } catch (error) {
    if (error instanceof RpcError) throw error;
    const answer = toErrorObject(error);
    throw new RpcError(answer.code, answer.message, answer.data);
  }
}

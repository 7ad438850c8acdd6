import type { z } from 'zod';
import { RpcError, RpcErrorCode } from './rpc-protocol.ts';

/** Validates a bridge call's params with a zod schema; a mismatch is an InvalidParams error naming the field. */
export function parseParams<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new RpcError(RpcErrorCode.InvalidParams, `${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}`);
}

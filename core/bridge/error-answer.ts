/** What a failed call answers: the JSON-RPC error object for whatever its handler threw. */
import { isTypedError, type TypedError } from '../util/errors.ts';
import { RpcError, RpcErrorCode, type RpcErrorObject, type TypedErrorData, type TypedErrorField } from './rpc-protocol.ts';

/** Fields every Error has, or that could carry internals (stack, cause): never sent. */
const UNSENT_FIELDS = new Set(['name', 'message', 'stack', 'cause', 'code']);

/**
 * An RpcError as it is; a typed error as ServerError with its code and fields in `data`; anything
 * else as ServerError with its message only.
 */
export function toErrorObject(error: unknown): RpcErrorObject {
  if (error instanceof RpcError) return error.toObject();
  if (isTypedError(error)) return { code: RpcErrorCode.ServerError, message: error.message, data: typedErrorData(error) };
  return { code: RpcErrorCode.ServerError, message: error instanceof Error ? error.message : String(error) };
}

/**
 * `{code, ...fields}` of a typed error: its own fields that JSON carries as they are (strings,
 * finite numbers, booleans, null, and arrays of those); others are left out.
 */
export function typedErrorData(error: TypedError): TypedErrorData {
  const data: Record<string, TypedErrorField> = { code: error.code };
  for (const [field, value] of Object.entries(error)) {
    if (!UNSENT_FIELDS.has(field) && isSendable(value)) data[field] = value;
  }
  return data as TypedErrorData;
}

function isSendable(value: unknown): value is TypedErrorField {
  return isScalar(value) || (Array.isArray(value) && value.every(isScalar));
}

function isScalar(value: unknown): value is string | number | boolean | null {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

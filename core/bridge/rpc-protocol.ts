/** Newline-delimited JSON-RPC 2.0: the message shapes and errors shared by server and client. */

export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** A handler's own failure; the message says what went wrong. */
  ServerError: -32000,
  /** The caller may not call this method (no or wrong credential). */
  Unauthorized: -32001,
  /** The request was cancelled by its caller or because the connection closed. */
  Cancelled: -32002,
} as const;

export type RpcId = string | number;

export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

export type TypedErrorField = string | number | boolean | null | ReadonlyArray<string | number | boolean | null>;

/**
 * The `data` of an error answer for a typed error a handler threw: its string code (`cron_duplicate_job`)
 * and its public fields (`{"user": "alice", "jobName": "daily"}`).
 */
export type TypedErrorData = { readonly code: string } & { readonly [field: string]: TypedErrorField };

export interface RpcRequest {
  readonly jsonrpc: '2.0';
  readonly id?: RpcId | null;
  readonly method: string;
  readonly params?: unknown;
}

export type RpcResponse =
  | { readonly jsonrpc: '2.0'; readonly id: RpcId | null; readonly result: unknown }
  | { readonly jsonrpc: '2.0'; readonly id: RpcId | null; readonly error: RpcErrorObject };

/** Streamed before a response: `{"method":"progress","params":{"id":<request id>,"data":...}}`. */
export const PROGRESS_METHOD = 'progress';
/** A client's notification that it no longer wants the answer to request `id`. */
export const CANCEL_METHOD = 'rpc.cancel';

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** An error with a JSON-RPC code, thrown by handlers and raised by the client for error responses. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  /** The typed error's code when the failure was one (`data.code`), so callers need not read the message. */
  get dataCode(): string | undefined {
    const code: unknown = typeof this.data === 'object' && this.data !== null ? (this.data as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? code : undefined;
  }

  toObject(): RpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/** The connection to the daemon could not be made or was lost before an answer arrived. */
export class RpcConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcConnectionError';
  }
}

/** Checks the envelope of a decoded line; returns the request or the error to answer with. */
export function validateRequest(message: unknown): RpcRequest | RpcErrorObject {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { code: RpcErrorCode.InvalidRequest, message: Array.isArray(message) ? 'batch requests are not supported' : 'a request must be a JSON object' };
  }
  const record = message as Record<string, unknown>;
  if (record.jsonrpc !== '2.0') return { code: RpcErrorCode.InvalidRequest, message: 'jsonrpc must be "2.0"' };
  if (typeof record.method !== 'string' || record.method.length === 0) return { code: RpcErrorCode.InvalidRequest, message: 'method must be a non-empty string' };
  const id = record.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
    return { code: RpcErrorCode.InvalidRequest, message: 'id must be a string, a number or null' };
  }
  const params = record.params;
  if (params !== undefined && (typeof params !== 'object' || params === null)) return { code: RpcErrorCode.InvalidRequest, message: 'params must be an object or an array' };
  return record as unknown as RpcRequest;
}

/** The id of a request as far as it can be read, for answering an invalid one. */
export function salvageId(message: unknown): RpcId | null {
  if (typeof message !== 'object' || message === null) return null;
  const id = (message as Record<string, unknown>).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}


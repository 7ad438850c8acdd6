/**
 * Errors a caller can act on: each says what went wrong, with what, and what to do.
 *
 * They are typed errors: an Error whose `code` is a snake_case string naming the failure, whose own
 * fields say with what. A typed error a bridge method throws reaches the caller with its code and
 * fields (`error.data` of the JSON-RPC answer), so those fields are public: never put a secret in one.
 */

export class SessionLimitError extends Error {
  readonly code = 'session_limit';
  constructor(
    readonly user: string,
    readonly limit: number,
  ) {
    super(`user "${user}" already has ${limit} sessions (sessions.max_per_user is ${limit}); delete one or raise the limit`);
    this.name = 'SessionLimitError';
  }
}

export class SessionNotFoundError extends Error {
  readonly code = 'session_not_found';
  constructor(
    readonly user: string | undefined,
    readonly session: string,
  ) {
    super(user === undefined ? `no session "${session}"` : `user "${user}" has no session "${session}"`);
    this.name = 'SessionNotFoundError';
  }
}

export class PromptNotFoundError extends Error {
  readonly code = 'prompt_not_found';
  constructor(
    readonly sessionId: string,
    readonly promptId: string,
  ) {
    super(`session ${sessionId} has no prompt "${promptId}"`);
    this.name = 'PromptNotFoundError';
  }
}

export class InvalidRequestError extends Error {
  readonly code = 'invalid_request';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** An error that follows the convention above. */
export interface TypedError extends Error {
  readonly code: string;
}

/** snake_case, which also sets these codes apart from Node's own (`ENOENT`, `ERR_INVALID_ARG_TYPE`). */
const TYPED_ERROR_CODE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

export function isTypedError(error: unknown): error is TypedError {
  if (!(error instanceof Error)) return false;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' && TYPED_ERROR_CODE.test(code);
}

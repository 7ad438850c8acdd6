/** Errors a caller can act on: each says what went wrong, with what, and what to do. */

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

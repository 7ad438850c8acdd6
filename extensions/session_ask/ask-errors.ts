/** The question would wait for ever: the target waits, directly or through others, on the asker. */
export class DeadlockError extends Error {
  readonly code = 'session_ask_deadlock';
  /** The sessions' names from the asker round to the asker again. */
  constructor(readonly chain: readonly string[]) {
    const shown = chain.join(' → ');
    super(
      chain.length <= 2
        ? `deadlock: a session cannot ask itself (${shown}): the question would wait behind the turn asking it`
        : `deadlock: ${chain[1]} is waiting on ${chain[0]} (${shown}), so it could never take up this question; answer without asking it, or ask another session`,
    );
    this.name = 'DeadlockError';
  }
}

/** Asking would nest questions deeper than `extensions.session_ask.max_depth`. */
export class DepthLimitError extends Error {
  readonly code = 'session_ask_too_deep';
  constructor(
    readonly chain: readonly string[],
    readonly limit: number,
  ) {
    super(
      `too deep: this would be question ${chain.length - 1} of a chain (${chain.join(' → ')}), and at most ${limit} may be nested (extensions.session_ask.max_depth); answer from what you know instead`,
    );
    this.name = 'DepthLimitError';
  }
}

/** A request id already names a different kind of request (a session_tell asked again as session_ask). */
export class RequestIdReusedError extends Error {
  readonly code = 'session_ask_request_reused';
  constructor(readonly requestId: string) {
    super(`request id ${requestId} was already used for another request; use a new one`);
    this.name = 'RequestIdReusedError';
  }
}

/** Why a bridge call failed when the daemon itself did not answer it; each message says what to do. */

/** A variable the daemon sets for each MCP server is missing: the server was not started by claude-ext. */
export class BridgeEnvError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(
      `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set: this MCP server must be started ` +
        'by the claude-ext daemon for a session, which sets these variables',
    );
    this.name = 'BridgeEnvError';
  }
}

/** The connection dropped while a non-idempotent call was running, so it was not resent. */
export class BridgeRestartedError extends Error {
  constructor(readonly method: string) {
    super(
      `${method}: the daemon restarted while the call was running, so it may or may not have taken effect; ` +
        'check its outcome before calling it again',
    );
    this.name = 'BridgeRestartedError';
  }
}

/** The daemon could not be reached again within the reconnect policy's time limit. */
export class BridgeUnavailableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly waitedMs: number,
    readonly lastFailure: string,
  ) {
    super(`the claude-ext daemon did not answer on ${socketPath} for ${Math.round(waitedMs / 1000)} s (last failure: ${lastFailure}); is it running?`);
    this.name = 'BridgeUnavailableError';
  }
}

/** The client was closed by its owner; no more calls are made. */
export class BridgeClosedError extends Error {
  constructor() {
    super('the bridge client was closed');
    this.name = 'BridgeClosedError';
  }
}

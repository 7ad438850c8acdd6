/** When to try reaching the daemon again after the connection is lost. */
export interface ReconnectPolicy {
  /** The wait before the second attempt; each further wait doubles it. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** How long to keep trying before the waiting calls fail. */
  readonly giveUpAfterMs: number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 2000,
  giveUpAfterMs: 5 * 60 * 1000,
};

export function nextDelay(previousMs: number, policy: ReconnectPolicy): number {
  return Math.min(previousMs * 2, policy.maxDelayMs);
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls waiting for something to end, by key: a tool call waiting for its question's answer. Each
 * waiter is settled once: by `settle` for its key, by its signal's abort, or by `settleAll`.
 */
export class Waiters<Outcome> {
  private readonly byKey = new Map<string, Set<(outcome: Outcome) => void>>();

  /** Waits until `key` is settled; an abort of `signal` ends this wait alone with `onAbort`. */
  wait(key: string, signal: AbortSignal | undefined, onAbort: Outcome): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let set = this.byKey.get(key);
      if (!set) {
        set = new Set();
        this.byKey.set(key, set);
      }
      const waiting = set;
      const abort = (): void => {
        waiting.delete(waiter);
        if (waiting.size === 0 && this.byKey.get(key) === waiting) this.byKey.delete(key);
        resolve(onAbort);
      };
      const waiter = (outcome: Outcome): void => {
        signal?.removeEventListener('abort', abort);
        resolve(outcome);
      };
      if (signal?.aborted) {
        resolve(onAbort);
        return;
      }
      waiting.add(waiter);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** How many calls wait on `key`. */
  count(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  /** Ends every wait on `key` with `outcome`. */
  settle(key: string, outcome: Outcome): void {
    const set = this.byKey.get(key);
    this.byKey.delete(key);
    for (const waiter of set ?? []) waiter(outcome);
  }

  /** Ends every wait, each with the outcome `outcomeFor` gives its key. */
  settleAll(outcomeFor: (key: string) => Outcome): void {
    for (const key of [...this.byKey.keys()]) this.settle(key, outcomeFor(key));
  }
}

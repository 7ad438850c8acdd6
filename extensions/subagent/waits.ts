/** Leads waiting on their workers: wakes them at each change, and knows which leads are waiting. */
export class Waits {
  private readonly listeners = new Set<() => void>();
  private readonly waitingLeads = new Map<string, number>();

  isWaiting(leadId: string): boolean {
    return this.waitingLeads.has(leadId);
  }

  /** Something about some worker changed: every wait looks again. */
  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Looks at `check` now and after each change, until it answers, the deadline passes or the signal
   * aborts; then answers the last look with whether it was satisfied.
   */
  async until<T>(leadId: string, check: () => { readonly done: boolean; readonly value: T }, deadline: number, signal: AbortSignal): Promise<{ readonly done: boolean; readonly value: T }> {
    this.waitingLeads.set(leadId, (this.waitingLeads.get(leadId) ?? 0) + 1);
    try {
      for (;;) {
        const look = check();
        if (look.done || Date.now() >= deadline || signal.aborted) return look;
        await this.nextChange(deadline - Date.now(), signal);
      }
    } finally {
      const count = (this.waitingLeads.get(leadId) ?? 1) - 1;
      if (count === 0) this.waitingLeads.delete(leadId);
      else this.waitingLeads.set(leadId, count);
    }
  }

  private nextChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.listeners.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

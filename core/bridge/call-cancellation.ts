/**
 * The abort signal of one call, made only when its handler asks for it: an AbortSignal costs more
 * than most calls, and most handlers never look at theirs.
 */
export class CallCancellation {
  private controller: AbortController | undefined;
  private reason: unknown;
  private cancelled = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

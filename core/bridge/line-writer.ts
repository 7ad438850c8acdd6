import type net from 'node:net';

/**
 * A connection's outgoing lines, gathered into as few socket writes as possible: every line sent
 * while a read is handled leaves in one write when it is done, and lines sent at other times (answers
 * of calls that finished later) leave together at the end of the tick.
 */
export class LineWriter {
  private pending = '';
  private holding = false;
  private scheduled = false;
  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    if (!this.holding) this.flush();
  };

  constructor(
    private readonly socket: net.Socket,
    /** Called after each write that was not a read's own (answers that finished later). */
    private readonly afterWrite: () => void = () => undefined,
  ) {}

  /** Whether anything sent can still reach the peer. */
  get open(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /** What the peer has not taken yet: lines not written and bytes in the socket's buffer (about: lines count in characters). */
  get backlog(): number {
    return this.pending.length + this.socket.writableLength;
  }

  /** Queues one line (without its newline). */
  send(line: string): void {
    this.pending += `${line}\n`;
    if (this.holding || this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flushScheduled);
  }

  /** Runs `work` (the handling of one read), then writes everything it sent at once. */
  batch(work: () => void): void {
    this.holding = true;
    try {
      work();
    } finally {
      this.holding = false;
      this.write();
    }
  }

  /** Writes what waits now, then ends the connection; `destroy` is called once it is out (or could not go). */
  end(destroy: () => void): void {
    const text = this.pending;
    this.pending = '';
    if (this.open) this.socket.end(text, destroy);
    else destroy();
  }

  private flush(): void {
    this.write();
    this.afterWrite();
  }

  private write(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    if (this.open) this.socket.write(text);
  }
}

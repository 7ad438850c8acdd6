/**
 * Splits a byte stream into newline-terminated lines with a size limit. A line over the limit is
 * discarded up to its newline and reported once, so one oversized message cannot grow memory
 * without bound or desynchronise the lines after it.
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private discarding = false;

  constructor(
    /** The longest line taken; it may change between pushes (a connection allowed more once authenticated). */
    public maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversized: () => void,
  ) {}

  /**
   * Takes a chunk's lines in order. `stop` is asked before each complete line: once it says so, the
   * rest of the chunk is returned untouched, for the caller to push again when it wants more.
   */
  push(chunk: Buffer, stop?: () => boolean): Buffer | undefined {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.keep(chunk.subarray(start));
        return undefined;
      }
      if (stop?.()) return chunk.subarray(start);
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (this.discarding) {
        this.discarding = false;
        this.reset();
        continue;
      }
      if (this.buffered + piece.length > this.maxLineBytes) {
        this.reset();
        this.onOversized();
        continue;
      }
      const line = this.buffered === 0 ? piece.toString('utf8') : Buffer.concat([...this.chunks, piece]).toString('utf8');
      this.reset();
      if (line.trim().length > 0) this.onLine(line);
    }
  }

  private keep(rest: Buffer): void {
    if (rest.length === 0 || this.discarding) return;
    if (this.buffered + rest.length > this.maxLineBytes) {
      this.reset();
      this.discarding = true;
      this.onOversized();
      return;
    }
    this.chunks.push(Buffer.from(rest));
    this.buffered += rest.length;
  }

  private reset(): void {
    this.chunks = [];
    this.buffered = 0;
  }
}

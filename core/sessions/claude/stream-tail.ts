import fs from 'node:fs';

/**
 * Follows a growing file of newline-terminated lines from a byte offset. Lines are cut at the newline
 * byte before decoding, so a multibyte character split across two reads is never broken, and the
 * offset after each line is exact (it is what the engine persists to resume after a restart).
 *
 * A line whose handler throws is reported to `onLineError` and skipped: the offset moves exactly past
 * it and the lines after it are read as usual, so one bad line never wedges the stream.
 */
export class StreamTail {
  private pending: Buffer = Buffer.alloc(0);
  private consumed: number;
  private readonly chunk = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly file: string,
    offset: number,
    private readonly onLine: (line: string, endOffset: number) => void,
    private readonly onLineError: (error: unknown, endOffset: number) => void = () => undefined,
  ) {
    this.consumed = offset;
  }

  /** The offset just past the last complete line handed out. */
  get offset(): number {
    return this.consumed;
  }

  /** Reads whatever has been appended since the last call and hands out each complete line. */
  readAvailable(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      let position = this.consumed + this.pending.length;
      for (;;) {
        const read = fs.readSync(fd, this.chunk, 0, this.chunk.length, position);
        if (read === 0) break;
        position += read;
        this.pending = this.pending.length === 0 ? Buffer.from(this.chunk.subarray(0, read)) : Buffer.concat([this.pending, this.chunk.subarray(0, read)]);
        this.emitCompleteLines();
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private emitCompleteLines(): void {
    let start = 0;
    for (;;) {
      const newline = this.pending.indexOf(0x0a, start);
      if (newline < 0) break;
      const line = this.pending.toString('utf8', start, newline);
      this.consumed += newline + 1 - start;
      start = newline + 1;
      if (line.trim().length === 0) continue;
      try {
        this.onLine(line, this.consumed);
      } catch (error) {
        this.onLineError(error, this.consumed);
      }
    }
    if (start > 0) this.pending = this.pending.subarray(start);
  }
}

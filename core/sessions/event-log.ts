import fs from 'node:fs';

export interface EventLogOptions {
  readonly file: string;
  readonly maxBytes: number;
  readonly keep: number;
}

/**
 * The structured record of what happened: one JSON object per line, rotated by size
 * (`events.jsonl` → `events.jsonl.1` → ... → `events.jsonl.<keep>`).
 */
export class EventLog {
  private fd: number;
  private size: number;

  constructor(private options: EventLogOptions) {
    this.fd = fs.openSync(options.file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  reconfigure(limits: { maxBytes: number; keep: number }): void {
    this.options = { ...this.options, ...limits };
  }

  record(type: string, fields: Record<string, unknown> = {}): void {
    const line = `${JSON.stringify({ ts: new Date().toISOString(), type, ...fields })}\n`;
    if (this.size > 0 && this.size + Buffer.byteLength(line) > this.options.maxBytes) this.rotate();
    this.size += fs.writeSync(this.fd, line);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    const { file, keep } = this.options;
    fs.rmSync(`${file}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i -= 1) {
      if (fs.existsSync(`${file}.${i}`)) fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    }
    fs.renameSync(file, `${file}.1`);
    this.fd = fs.openSync(file, 'a', 0o600);
    this.size = 0;
  }
}

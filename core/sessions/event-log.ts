import fs from 'node:fs';
import { toDisposable, type Disposable } from '../util/disposable.ts';

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
  private readonly listeners = new Set<(record: Readonly<Record<string, unknown>>) => void>();

  constructor(private options: EventLogOptions) {
    this.fd = fs.openSync(options.file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  reconfigure(limits: { maxBytes: number; keep: number }): void {
    this.options = { ...this.options, ...limits };
  }

  get file(): string {
    return this.options.file;
  }

  record(type: string, fields: Record<string, unknown> = {}): void {
    const { ts: _ts, type: _type, ...rest } = fields;
    const record = { ts: new Date().toISOString(), type, ...rest };
    const line = `${JSON.stringify(record)}\n`;
    if (this.size > 0 && this.size + Buffer.byteLength(line) > this.options.maxBytes) this.rotate();
    this.size += fs.writeSync(this.fd, line);
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // the record is written; a listener's failure is its own
      }
    }
  }

  /** Calls `listener` with each record once it is written (running totals that need not read the log again). */
  onRecord(listener: (record: Readonly<Record<string, unknown>>) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
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

import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, readJsonFile, writeJsonAtomic } from '../util/files.ts';
import type { ApprovalRecord, ApprovalRule } from './approval-types.ts';

/** Resolved approvals are kept this long: a request read again after a restart is known, a late answer told it is late. */
export const KEEP_RESOLVED_MS = 24 * 3_600_000;

const ID = /^ap_[a-z0-9]+$/;

/** Approvals on disk, one JSON file each (0600, written atomically and durably): a restart loses none. */
export class ApprovalStore {
  constructor(private readonly dir: string) {
    ensurePrivateDir(dir);
  }

  save(record: ApprovalRecord): void {
    writeJsonAtomic(this.file(record.id), record, { durable: true });
  }

  remove(id: string): void {
    if (ID.test(id)) fs.rmSync(this.file(id), { force: true });
  }

  load(id: string): ApprovalRecord | undefined {
    if (!ID.test(id)) return undefined;
    try {
      return readJsonFile<ApprovalRecord>(this.file(id));
    } catch {
      return undefined;
    }
  }

  /** Every approval on disk, oldest first; resolved ones older than a day are removed on the way. */
  loadAll(now = Date.now()): ApprovalRecord[] {
    const records: ApprovalRecord[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const id = name.replace(/\.json$/, '');
      if (!name.endsWith('.json') || !ID.test(id)) continue;
      const record = this.load(id);
      if (!record) continue;
      if (resolvedLongAgo(record, now)) {
        fs.rmSync(this.file(id), { force: true });
        continue;
      }
      records.push(record);
    }
    return records.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

/** A list of rules in one file (a user's "always" rules, or one session's rules in its directory). */
export class RuleFile {
  constructor(private readonly file: string) {}

  read(): ApprovalRule[] {
    try {
      return readJsonFile<{ rules: ApprovalRule[] }>(this.file)?.rules ?? [];
    } catch {
      return [];
    }
  }

  write(rules: readonly ApprovalRule[]): void {
    if (!fs.existsSync(path.dirname(this.file))) return;
    writeJsonAtomic(this.file, { rules }, { durable: true });
  }
}

/** A closed approval past the day it is kept for. */
export function resolvedLongAgo(record: ApprovalRecord, now: number): boolean {
  return record.status !== 'pending' && record.status !== 'answering' && record.resolvedAt !== undefined && now - Date.parse(record.resolvedAt) > KEEP_RESOLVED_MS;
}

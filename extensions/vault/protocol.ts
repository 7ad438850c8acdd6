/** The vault's bridge methods: their names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';

/** Method names as callers use them, and as the extension registers them. */
export const METHODS = {
  store: 'vault.store',
  list: 'vault.list',
  delete: 'vault.delete',
  run: 'vault.run',
} as const;

export const storeParams = z.object({ key: z.string(), value: z.string(), tags: z.array(z.string()).optional(), user: z.string().optional() });
export const listParams = z.object({ tag: z.string().optional(), user: z.string().optional() });
export const deleteParams = z.object({ key: z.string(), user: z.string().optional() });
export const runParams = z.object({
  command: z.string().min(1).max(20_000),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _'), z.string()).default({}),
});

export interface StoreResult {
  readonly stored: string;
}

export interface ListedEntry {
  readonly user: string;
  readonly key: string;
  readonly tags: string[];
  readonly updatedAt: string;
}

export interface DeleteResult {
  readonly deleted: boolean;
}

/** What `vault.run` answers (output with secret values removed). */
export type { RunResult } from './run-command.ts';


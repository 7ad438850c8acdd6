/** The vault's bridge methods: their names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';
import { validateKey, validateTags, validateUser, validateValue } from './keys.ts';

/** Method names as callers use them, and as the extension registers them. */
export const METHODS = {
  store: 'vault.store',
  list: 'vault.list',
  delete: 'vault.delete',
  run: 'vault.run',
} as const;

/**
 * Reports what one of keys.ts's validators throws as the field's issue. Their messages name what is
 * wrong, never the text: a caller who swapped key and value would otherwise see the secret.
 */
const reportFrom =
  <T>(validate: (value: T) => unknown) =>
  (value: T, ctx: z.RefinementCtx): void => {
    try {
      validate(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  };

/** A vault_run variable's value: `vault:<key>`. */
function validateReference(reference: string): void {
  const name = /^vault:(.+)$/.exec(reference)?.[1];
  if (name === undefined) throw new Error('expected "vault:<key>", e.g. "vault:github/token"');
  validateKey(name);
}

const key = z.string().superRefine(reportFrom(validateKey));
const user = z.string().superRefine(reportFrom(validateUser));
const MAX_ENV_VARIABLES = 64;

/** Every field is checked here, before anything is stored or run; the store checks again for in-process callers. */
export const storeParams = z.object({
  key,
  value: z.string().superRefine(reportFrom(validateValue)),
  tags: z.array(z.string().max(100)).max(100).superRefine(reportFrom(validateTags)).optional(),
  user: user.optional(),
});
export const listParams = z.object({ tag: z.string().min(1).max(32).optional(), user: user.optional() });
export const deleteParams = z.object({ key, user: user.optional() });
export const runParams = z.object({
  command: z.string().min(1).max(20_000),
  env: z
    .record(z.string().max(128).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _'), z.string().superRefine(reportFrom(validateReference)))
    .refine((env) => Object.keys(env).length <= MAX_ENV_VARIABLES, `at most ${MAX_ENV_VARIABLES} variables`)
    .default({}),
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


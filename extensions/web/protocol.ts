/** web's bridge methods (the API tokens, managed from the CLI as the admin): names and params. */
import { z } from 'zod';

export const METHODS = {
  tokenCreate: 'web.token_create',
  tokenList: 'web.token_list',
  tokenRevoke: 'web.token_revoke',
} as const;

const userId = z
  .string()
  .min(1)
  .max(128)
  .refine((user) => !/[\0\n]/.test(user), 'a user id has no NUL or newline');

export const tokenCreateParams = z.object({ user: userId, name: z.string().min(1).max(100).optional() });
export const tokenListParams = z.object({ user: userId.optional() });
export const tokenRevokeParams = z.object({ ref: z.string().min(1).max(200), user: userId.optional() });

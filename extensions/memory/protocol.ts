/** memory's bridge methods: names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';

export const METHODS = {
  save: 'memory.save',
  edit: 'memory.edit',
  search: 'memory.search',
  read: 'memory.read',
  delete: 'memory.delete',
  list: 'memory.list',
} as const;

/** The largest text a call may carry; the configured note limit is checked after. */
export const MAX_CONTENT_CHARS = 8 * 1024 * 1024;

const user = z
  .string()
  .min(1)
  .max(128)
  .refine((value) => !/[\0\n]/.test(value), 'a user id has no NUL or newline');
const notePath = z.string().min(1).max(512);
const tag = z.string().min(1).max(64);

/** `user` is for the terminal; a session always acts for its own user. */
export const saveParams = z.object({
  path: notePath,
  content: z.string().max(MAX_CONTENT_CHARS),
  mode: z.enum(['create', 'replace', 'append']).default('create'),
  tags: z.array(tag).max(32).default([]),
  user: user.optional(),
});

export const editParams = z.object({ path: notePath, old_text: z.string().min(1).max(MAX_CONTENT_CHARS), new_text: z.string().max(MAX_CONTENT_CHARS), user: user.optional() });

export const searchParams = z.object({
  query: z.string().min(1).max(2000),
  scope: z.enum(['mine', 'shared', 'all']).default('all'),
  tag: tag.optional(),
  limit: z.number().int().min(1).max(50).default(10),
  user: user.optional(),
});

export const readParams = z.object({
  path: z.string().max(512).default(''),
  from_line: z.number().int().min(1).max(10_000_000).optional(),
  lines: z.number().int().min(1).max(10_000_000).optional(),
  user: user.optional(),
});

export const deleteParams = z.object({ path: notePath, user: user.optional() });

export const listParams = z.object({ path: z.string().max(512).default(''), user: user.optional() });

import { z } from 'zod';
import { size } from 'claude-ext/extension';

/** A share of the context window: 0.8, or "80%". */
const share = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?%$/, 'a share such as 0.8 or 80%')]).transform((value, ctx) => {
  const fraction = typeof value === 'number' ? value : Number(value.slice(0, -1)) / 100;
  if (!(fraction > 0 && fraction <= 1)) {
    ctx.addIssue({ code: 'custom', message: `must be above 0 and at most 1 (100%), got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return fraction;
});

const userId = z.string().min(1).max(128);

export const configSchema = z.strictObject({
  /** Where the notes live (`users/<user>/…`, `shared/…`); default the extension's data folder. */
  dir: z.string().min(1).optional(),
  /** Users whose sessions may write the shared notes (the terminal always may). */
  shared_writers: z.array(userId).default([]),
  /** The size of the note index in each session's system prompt. */
  index_budget: size.pipe(z.number().min(1024).max(64 * 1024)).default(2048),
  /** Add the notes that match each prompt to it. */
  auto_recall: z.boolean().default(true),
  recall_budget: size.pipe(z.number().min(256).max(64 * 1024)).default(1536),
  /** How many of a prompt's significant words a note must hold to be recalled. */
  recall_min_words: z.number().int().min(1).max(10).default(2),
  /** Past this share of the context window, the session is asked to save what it must keep. */
  flush_at: share.default(0.8),
  /** What the session is asked in that silent turn; the default asks it to save what it must keep. */
  flush_prompt: z.string().min(1).max(8000).optional(),
  max_note_bytes: size.pipe(z.number().min(1024).max(8 * 1024 * 1024)).default(256 * 1024),
  max_user_bytes: size.pipe(z.number().min(1024)).default(50 * 1024 * 1024),
});

export type MemoryConfig = z.output<typeof configSchema>;

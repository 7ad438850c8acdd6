/** ask_user's bridge methods: names, params and results, shared by the extension, its tool and its CLI. */
import { z } from 'zod';

export const METHODS = {
  ask: 'ask_user.ask',
  list: 'ask_user.list',
  answer: 'ask_user.answer',
} as const;

/** The longest a question may wait (more is refused rather than turned into a time no Date can hold). */
export const MAX_TIMEOUT_SECONDS = 366 * 24 * 3600;

/** A user id as the daemon takes it. */
export const userId = z
  .string()
  .min(1)
  .max(128)
  .refine((user) => !/[\0\n]/.test(user), 'a user id has no NUL or newline');

/** Bounded here, so that nothing unbounded is saved with a question. */
export const askParams = z.object({
  requestId: z.string().min(8).max(100),
  question: z.string().min(1).max(4000),
  options: z.array(z.string().min(1).max(200)).max(20).default([]),
  timeoutSeconds: z.number().positive().max(MAX_TIMEOUT_SECONDS).optional(),
});

export const listParams = z.object({ all: z.boolean().default(false), user: userId.optional() });

export const answerParams = z.object({ id: z.string().min(1).max(100), text: z.string().min(1).max(4000), user: userId.optional() });

export type AskOutcome = { readonly status: 'answered'; readonly answer: string; readonly answeredBy: string } | { readonly status: 'timeout' | 'cancelled'; readonly reason: string };

export interface AnswerAck {
  readonly id: string;
  readonly status: string;
}

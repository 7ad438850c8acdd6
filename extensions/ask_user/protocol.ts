/** ask_user's bridge methods: names, params and results, shared by the extension, its tool and its CLI. */
import { z } from 'zod';

export const METHODS = {
  ask: 'ask_user.ask',
  list: 'ask_user.list',
  answer: 'ask_user.answer',
} as const;

export const askParams = z.object({
  requestId: z.string().min(8).max(100),
  question: z.string().min(1).max(4000),
  options: z.array(z.string().min(1).max(200)).max(20).default([]),
  timeoutSeconds: z.number().positive().optional(),
});

export const listParams = z.object({ all: z.boolean().default(false), user: z.string().optional() });

export const answerParams = z.object({ id: z.string().min(1), text: z.string().min(1).max(4000), user: z.string().min(1).optional() });

export type AskOutcome = { readonly status: 'answered'; readonly answer: string; readonly answeredBy: string } | { readonly status: 'timeout' | 'cancelled'; readonly reason: string };

export interface AnswerAck {
  readonly id: string;
  readonly status: string;
}

/** session_ask's bridge methods: names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';

export const METHODS = {
  sessions: 'session_ask.sessions',
  ask: 'session_ask.ask',
  tell: 'session_ask.tell',
  list: 'session_ask.list',
} as const;

/** The longest a question may wait (more is refused rather than turned into a time no Date can hold). */
export const MAX_TIMEOUT_SECONDS = 366 * 24 * 3600;

export const MAX_TEXT = 20_000;

const sessionRef = z.string().min(1).max(300);
const requestId = z.string().min(8).max(100);

export const sessionsParams = z.object({});

export const askParams = z.object({
  requestId,
  session: sessionRef,
  question: z.string().trim().min(1).max(MAX_TEXT),
  timeoutSeconds: z.number().positive().max(MAX_TIMEOUT_SECONDS).optional(),
});

export const tellParams = z.object({ requestId, session: sessionRef, message: z.string().trim().min(1).max(MAX_TEXT) });

export const listParams = z.object({
  all: z.boolean().default(false),
  user: z
    .string()
    .min(1)
    .max(128)
    .refine((user) => !/[\0\n]/.test(user), 'a user id has no NUL or newline')
    .optional(),
});

/** A session a caller may ask, as session_list shows it. */
export interface SessionEntry {
  readonly id: string;
  readonly name: string;
  /** What to pass as `session`: the name for the caller's own sessions, `user/name` for another user's. */
  readonly ref: string;
  readonly user: string;
  readonly status: string;
  readonly template?: string;
  readonly cwd: string;
  readonly lastPrompt?: string;
  readonly queued: number;
  /** The calling session itself (it cannot ask itself). */
  readonly self: boolean;
  /** The session it waits on now through session_ask, if any. */
  readonly waitingOn?: string;
}

export type AskOutcome =
  | { readonly status: 'answered'; readonly answer: string; readonly costUsd: number; readonly session: string }
  | { readonly status: 'failed' | 'timeout' | 'cancelled'; readonly reason: string };

export interface TellAck {
  readonly id: string;
  readonly session: string;
  readonly promptId: string;
  /** How many prompts are ahead of the message in the target's queue. */
  readonly position: number;
}

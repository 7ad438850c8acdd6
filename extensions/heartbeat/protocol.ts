/** The heartbeat's bridge methods: names, params and results, shared by the extension, its tools and its CLI. */
import { z } from 'zod';

export const METHODS = {
  status: 'heartbeat.status',
  note: 'heartbeat.note',
  instructionsGet: 'heartbeat.instructions_get',
  instructionsSet: 'heartbeat.instructions_set',
  pause: 'heartbeat.pause',
  resume: 'heartbeat.resume',
  trigger: 'heartbeat.trigger',
  log: 'heartbeat.log',
} as const;

export type HeartbeatMethod = (typeof METHODS)[keyof typeof METHODS];

/** The longest pause with a time; longer than that, pause without one (until resumed). */
export const MAX_PAUSE_DAYS = 366;
export const MAX_PAUSE_MINUTES = MAX_PAUSE_DAYS * 24 * 60;
export const MAX_NOTE_CHARS = 500;
export const MAX_INSTRUCTIONS_CHARS = 20_000;

/** Bounded here, so that a call which could not be saved, or would break later ticks, is refused before anything is saved. */
export const noParams = z.object({});
export const noteText = z.string().trim().min(1).max(MAX_NOTE_CHARS);
export const noteParams = z.object({ text: noteText });
export const instructionsText = z
  .string()
  .max(MAX_INSTRUCTIONS_CHARS)
  .refine((text) => text.trim().length > 0, 'must not be blank');
export const instructionsParams = z.object({ text: instructionsText });
export const pauseFields = {
  until: z
    .string()
    .max(100)
    .refine((text) => Number.isFinite(Date.parse(text)), 'not a time: give an ISO time such as 2026-05-01T09:00:00Z')
    .optional(),
  minutes: z
    .number()
    .int()
    .positive()
    .max(MAX_PAUSE_MINUTES, `at most ${MAX_PAUSE_MINUTES} (${MAX_PAUSE_DAYS} days); to pause for longer, give neither until nor minutes (until resumed)`)
    .optional(),
};
export const pauseParams = z.object(pauseFields).superRefine((p, ctx) => {
  if (p.until === undefined) return;
  if (p.minutes !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['minutes'], message: 'give until or minutes, not both' });
    return;
  }
  const at = Date.parse(p.until);
  const now = Date.now();
  if (at <= now) ctx.addIssue({ code: 'custom', path: ['until'], message: `${new Date(at).toISOString()} is in the past` });
  else if (at - now > MAX_PAUSE_MINUTES * 60_000) {
    ctx.addIssue({ code: 'custom', path: ['until'], message: `more than ${MAX_PAUSE_DAYS} days ahead; to pause for longer, give neither until nor minutes (until resumed)` });
  }
});
export const logParams = z.object({ n: z.number().int().min(1).max(200).default(20) });

/** One check of the gate, as the log keeps it. */
export interface TickView {
  readonly at: number;
  readonly outcome: string;
  readonly valve?: string;
  readonly reason?: string;
  readonly costUsd?: number;
  readonly findings?: number;
  readonly utilization?: string;
}

export interface StatusView {
  readonly day: string;
  readonly runsToday: number;
  readonly costToday: number;
  readonly pausedUntil?: number;
  readonly consecutiveFailures: number;
  readonly consecutiveNoops: number;
  readonly notes: string[];
  readonly log: TickView[];
  readonly intervalMs: number;
  /** The utilisation valve's threshold (percent), null when it is off. */
  readonly maxUtilization: number | null;
  /** What the valve makes of the latest usage reading (absent when it is off). */
  readonly utilization?: string;
}

export interface PauseResult {
  readonly pausedUntil: string;
}

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


export const noParams = z.object({});
export const noteParams = z.object({ text: z.string().min(1).max(500) });
export const instructionsParams = z.object({ text: z.string().min(1) });
export const pauseParams = z.object({ until: z.string().optional(), minutes: z.number().positive().optional() });
export const logParams = z.object({ n: z.number().int().min(1).max(200).default(20) });

/** One check of the gate, as the log keeps it. */
export interface TickView {
  readonly at: number;
  readonly outcome: string;
  readonly valve?: string;
  readonly reason?: string;
  readonly costUsd?: number;
  readonly findings?: number;
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
}

export interface PauseResult {
  readonly pausedUntil: string;
}

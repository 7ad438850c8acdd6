import { z } from 'zod';
import { duration } from 'claude-ext/extension';
import { paradigmConfig } from './paradigms.ts';
import { paradigmName } from './protocol.ts';

export const configSchema = z.strictObject({
  /** Workers one lead may hold at a time (removed ones do not count). */
  max_workers: z.number().int().min(1).max(64).default(4),
  /** Whether a worker gets the subagent tools and may start workers of its own. */
  allow_nesting: z.boolean().default(false),
  /** What one lead's workers may spend in all; once spent, no new work is started. */
  lead_budget_usd: z.number().positive().optional(),
  /** The longest one worker prompt may run before it is stopped (0: no limit). */
  prompt_timeout: duration.refine((ms) => ms <= 24 * 24 * 3_600_000, 'at most 24d').default(30 * 60_000),
  /** A worker that finishes while its lead is idle tells the lead with a short prompt. */
  notify_lead: z.boolean().default(true),
  /** More paradigms, or built-in ones redefined. */
  paradigms: z.record(paradigmName, paradigmConfig).default({}),
});

export type SubagentConfig = z.output<typeof configSchema>;

import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { jobId, jobName, jobPrompt, METHODS, runAt, schedule, timezoneName, utilizationPercent } from './protocol.ts';

const id = jobId.describe('The job id (from cron_list)');

/** The tools sessions get to schedule prompts; served by the daemon. */
export const tools = [
  defineTool({
    name: 'cron_create',
    description:
      'Schedule a prompt: recurring with a cron expression ("0 9 * * 1-5" = weekdays at 9:00; 6 fields for seconds) or once with run_at ' +
      '(an ISO time, or relative like "+20m", "+1h30m"). The result is delivered to the user like this conversation\'s.',
    input: {
      name: jobName.describe('A short unique name: letters, digits, dots, dashes, underscores'),
      prompt: jobPrompt.describe('What to do when it fires, self-contained'),
      schedule: schedule.optional().describe('A cron expression; its fires must be at least the configured minimum interval apart (1 minute by default)'),
      run_at: runAt.optional().describe('When to run once'),
      session: z.enum(['new', 'reuse']).optional().describe('new: a fresh session each run (default); reuse: one session that remembers earlier runs'),
      timezone: timezoneName.optional().describe('IANA timezone, default the configured one'),
      skip_above_utilization: utilizationPercent
        .optional()
        .describe(
          "Skip a fire while the subscription's 5-hour utilisation is above this percentage (0-100); default the configured one, which it may not exceed",
        ),
    },
    annotations: { destructiveHint: false },
    handler: (args, ctx) => ctx.bridge.call(METHODS.create, args, { signal: ctx.signal }),
  }),
  defineTool({
    name: 'cron_list',
    description: "List the user's scheduled jobs with their next run, last run, result and missed fires.",
    input: {},
    annotations: { readOnlyHint: true },
    handler: (_args, ctx) => ctx.bridge.call(METHODS.list, {}, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'cron_delete',
    description: 'Delete a scheduled job.',
    input: { id },
    annotations: { destructiveHint: true, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.delete, args, { signal: ctx.signal }),
  }),
  defineTool({
    name: 'cron_pause',
    description: 'Pause a job: it does not fire until resumed (fires while paused are not caught up).',
    input: { id },
    annotations: { destructiveHint: false, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.pause, args, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'cron_resume',
    description: 'Resume a paused job.',
    input: { id },
    annotations: { destructiveHint: false, idempotentHint: true },
    handler: (args, ctx) => ctx.bridge.call(METHODS.resume, args, { idempotent: true, signal: ctx.signal }),
  }),
];


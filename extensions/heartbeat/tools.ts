import { z } from 'zod';
import { defineTool, type ToolContext } from 'claude-ext/mcp';
import { instructionsText, METHODS, noteText, pauseFields, type HeartbeatMethod } from './protocol.ts';

/** A tool that forwards its arguments to one of the heartbeat's bridge methods. */
const call = (method: HeartbeatMethod, idempotent: boolean) => (args: object, ctx: ToolContext) => ctx.bridge.call(method, args, { idempotent, signal: ctx.signal });

/** The tools sessions get to look at and steer the heartbeat; served by the daemon. */
export const tools = [
  defineTool({ name: 'heartbeat_status', description: 'The heartbeat: runs and cost today, pause, backoff, notes and the last ticks.', input: {}, annotations: { readOnlyHint: true }, handler: call(METHODS.status, true) }),
  defineTool({
    name: 'heartbeat_note',
    description: 'Leave a note for the next heartbeat run (what you did, what to check next time).',
    input: { text: noteText },
    annotations: { destructiveHint: false },
    handler: call(METHODS.note, false),
  }),
  defineTool({ name: 'heartbeat_instructions_get', description: "Read the heartbeat's instructions.", input: {}, annotations: { readOnlyHint: true }, handler: call(METHODS.instructionsGet, true) }),
  defineTool({
    name: 'heartbeat_instructions_set',
    description: "Replace the heartbeat's instructions (markdown) with new text.",
    input: { text: instructionsText },
    annotations: { destructiveHint: true, idempotentHint: true },
    handler: call(METHODS.instructionsSet, true),
  }),
  defineTool({
    name: 'heartbeat_pause',
    description: 'Pause the heartbeat until a time (ISO, within a year), for some minutes (a whole number, at most a year), or, with neither, until resumed.',
    input: pauseFields,
    annotations: { destructiveHint: false, idempotentHint: true },
    handler: call(METHODS.pause, true),
  }),
  defineTool({
    name: 'heartbeat_log',
    description: 'The last n heartbeat ticks: gated out, skipped with reason, ran with cost, or the valve that stopped it.',
    input: { n: z.number().int().min(1).max(200).optional() },
    annotations: { readOnlyHint: true },
    handler: call(METHODS.log, true),
  }),
];


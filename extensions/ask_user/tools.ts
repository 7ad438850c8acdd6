import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { METHODS, type AskOutcome } from './protocol.ts';

/** Asks the person behind the session and waits; served by the daemon. */
export const askUser = defineTool({
  name: 'ask_user',
  description:
    'Ask the person you are working for a question and wait for the answer. Use it when you need a decision or information only they have. ' +
    'Give `options` when the answer is a choice; they can still answer freely.',
  input: {
    question: z.string().min(1).max(4000).describe('The question, self-contained'),
    options: z.array(z.string().min(1).max(200)).max(20).optional().describe('Suggested answers'),
    timeout: z.number().positive().max(86_400).optional().describe('Seconds to wait (default: the configured timeout)'),
  },
  // Asking again under the same call id finds the same question: after a daemon restart the call is re-run.
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  handler: async ({ question, options, timeout }, ctx) => {
    const outcome = await ctx.bridge.call<AskOutcome>(
      METHODS.ask,
      { requestId: ctx.callId, question, options: options ?? [], ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}) },
      { idempotent: true, signal: ctx.signal },
    );
    if (outcome.status === 'answered') return outcome.answer;
    throw new Error(outcome.status === 'timeout' ? `no answer: ${outcome.reason}` : `the question was cancelled: ${outcome.reason}`);
  },
});


import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { MAX_TEXT, METHODS, type AskOutcome, type SessionEntry, type TellAck } from './protocol.ts';

const sessionInput = z.string().min(1).max(300).describe('The session: its name (or id) from session_list');
const requestIdInput = z
  .string()
  .min(8)
  .max(100)
  .optional()
  .describe('Your own id for this request (8-100 characters): sending again with the same id returns the stored answer (or does nothing for a message) instead of sending twice');

export const sessionList = defineTool({
  name: 'session_list',
  description: "Lists the sessions you can ask or tell: your user's sessions (and any other user's the configuration allows), with status, template, working directory and last prompt.",
  input: {},
  annotations: { readOnlyHint: true, idempotentHint: true },
  handler: async (_args, ctx) => ctx.bridge.call<SessionEntry[]>(METHODS.sessions, {}, { idempotent: true, signal: ctx.signal }),
});

export const sessionAsk = defineTool({
  name: 'session_ask',
  description:
    'Asks another session a question and waits for its reply, which is returned as the answer (with its cost). The question goes into that session\'s queue, marked as coming from you. ' +
    'Fails at once when that session waits, directly or through others, on you (a deadlock).',
  input: {
    session: sessionInput,
    question: z.string().min(1).max(MAX_TEXT).describe('The question, self-contained: the other session sees nothing of your conversation'),
    timeout_s: z.number().positive().max(86_400).optional().describe('Seconds to wait (default: the configured timeout, 10 minutes unless changed)'),
    request_id: requestIdInput,
  },
  // Asking again under the same request id finds the same question: after a daemon restart the call is re-run.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async ({ session, question, timeout_s, request_id }, ctx) => {
    const outcome = await ctx.bridge.call<AskOutcome>(
      METHODS.ask,
      { requestId: request_id ?? ctx.callId, session, question, ...(timeout_s !== undefined ? { timeoutSeconds: timeout_s } : {}) },
      { idempotent: true, signal: ctx.signal },
    );
    if (outcome.status === 'answered') return `${outcome.answer}\n\n[session_ask: answered by session ${outcome.session}, cost $${outcome.costUsd.toFixed(6)}]`;
    throw new Error(`${outcome.status === 'cancelled' ? 'the question was cancelled' : 'no answer'}: ${outcome.reason}`);
  },
});

export const sessionTell = defineTool({
  name: 'session_tell',
  description: "Sends another session a message without waiting: it goes into that session's queue, marked as coming from you, and that session's reply goes wherever its replies go.",
  input: {
    session: sessionInput,
    message: z.string().min(1).max(MAX_TEXT).describe('The message, self-contained'),
    request_id: requestIdInput,
  },
  // The same request id sends the message once, so a re-run after a daemon restart does not send it twice.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async ({ session, message, request_id }, ctx) => {
    const ack = await ctx.bridge.call<TellAck>(METHODS.tell, { requestId: request_id ?? ctx.callId, session, message }, { idempotent: true, signal: ctx.signal });
    return `Sent to session "${ack.session}"${ack.position > 0 ? ` (${ack.position} prompt${ack.position === 1 ? '' : 's'} ahead of it)` : ''}.`;
  },
});

export const tools = [sessionList, sessionAsk, sessionTell];

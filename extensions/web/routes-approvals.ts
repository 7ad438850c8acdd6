/** Tool calls waiting for a person's yes (`permission_mode: approve`), and the stored rules that answer them. */
import { z } from 'zod';
import type { ApprovalRequest, ExtensionApprovals } from 'claude-ext/extension';
import { HttpError, route, visibleUser, type Route } from './api.ts';
import type { EventStore } from './event-store.ts';

/**
 * A pending approval as the API shows it. `ctx.approvals` keeps the call's input as the model sent it;
 * the event every client was shown has it redacted. So input, summary and pattern come from the kept
 * `approval_requested` event; once that is no longer kept, they are `null` (the tool name still says
 * what waits, and an answer without a pattern saves the suggested one).
 */
export interface ApprovalView {
  readonly id: string;
  readonly sessionId: string;
  readonly user: string;
  readonly tool: string;
  readonly summary: string | null;
  readonly input: unknown;
  readonly suggestedPattern: string | null;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

export function approvalView(request: ApprovalRequest, events: EventStore): ApprovalView {
  const shown = events.approvalRequest(request.sessionId, request.id);
  const { id, sessionId, user, tool, requestedAt, expiresAt } = request;
  return { id, sessionId, user, tool, summary: shown?.summary ?? null, input: shown?.input ?? null, suggestedPattern: shown?.suggestedPattern ?? null, requestedAt, expiresAt };
}

/** Pending approvals per session id, for marking sessions that wait. */
export function pendingBySession(approvals: ExtensionApprovals, user: string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const approval of approvals.list(user)) counts.set(approval.sessionId, (counts.get(approval.sessionId) ?? 0) + 1);
  return counts;
}

const answerBody = z.discriminatedUnion('decision', [
  z.strictObject({
    decision: z.literal('allow'),
    scope: z.enum(['once', 'session', 'always']).default('once').describe('once: this call; session: calls matching the pattern in this session; always: in every session of the user'),
    pattern: z.string().min(1).max(1000).optional().describe('The rule to store for session/always, e.g. `Bash(git status:*)`; default the suggested one'),
  }),
  z.strictObject({
    decision: z.literal('deny'),
    message: z.string().min(1).max(4000).optional().describe('What the model is told'),
  }),
]);

/**
 * The core's typed approval errors as HTTP answers. Another user's approval or rule is as unknown as a
 * missing one, with the same message, so that an answer never tells that it exists.
 */
function httpError(error: unknown, id: string): unknown {
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  if (code === 'approval_closed') return new HttpError(409, 'approval_closed', message);
  if (code === 'approval_not_found' || code === 'approval_forbidden') return new HttpError(404, 'not_found', `no approval "${id}": GET /api/approvals lists the pending ones`);
  if (code === 'rule_not_found') return new HttpError(404, 'not_found', `no rule "${id}": GET /api/rules lists them`);
  if (code === 'invalid_pattern') return new HttpError(400, 'invalid_pattern', message, 'pattern');
  return error;
}

export function approvalRoutes(approvals: ExtensionApprovals, events: EventStore): Route[] {
  return [
    route({
      method: 'GET', url: '/api/approvals', tag: 'approvals', summary: "Tool calls waiting for an answer: the caller's (every user's for the admin); input as the event stream showed it",
      query: z.object({ session: z.string().min(1).max(200).optional().describe('Only those of this session id') }),
      handler: ({ principal, query }) => ({
        body: approvals
          .list(visibleUser(principal))
          .filter((a) => query.session === undefined || a.sessionId === query.session)
          .map((a) => approvalView(a, events)),
      }),
    }),
    route({
      method: 'POST', url: '/api/approvals/:id', tag: 'approvals',
      summary: "Answers a waiting tool call: allow (once, for the session or always, with a pattern) or deny (with a message for the model); 409 once it was answered",
      params: z.object({ id: z.string().min(1).max(100) }), body: answerBody,
      handler: async ({ principal, params, body }) => {
        // The core checks who answers before whether it is still open: another user's approval is 404, never 409.
        try {
          await approvals.answer(params.id, body, visibleUser(principal));
        } catch (error) {
          throw httpError(error, params.id);
        }
        return { body: { id: params.id, ...body } };
      },
    }),
    route({
      method: 'GET', url: '/api/rules', tag: 'approvals', summary: "Stored approval rules: the caller's (every user's for the admin); a rule with sessionId holds for that session only",
      handler: ({ principal }) => ({ body: approvals.rules(visibleUser(principal)) }),
    }),
    route({
      method: 'DELETE', url: '/api/rules/:id', tag: 'approvals', summary: 'Revokes a stored approval rule',
      params: z.object({ id: z.string().min(1).max(100) }),
      handler: ({ principal, params }) => {
        try {
          approvals.revokeRule(params.id, visibleUser(principal));
        } catch (error) {
          throw httpError(error, params.id);
        }
        return { body: { revoked: params.id } };
      },
    }),
  ];
}

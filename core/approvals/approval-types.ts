/** Approvals of tool calls, as the extension API shows them (`ctx.approvals`). */

import type { PermissionAnswer } from '../sessions/claude/claude-args.ts';
import type { ApprovalRequestFields } from '../sessions/events.ts';

/** A pending approval: what its `approval_requested` event tells frontends, and whose it is. */
export interface ApprovalRequest extends ApprovalRequestFields {
  readonly sessionId: string;
  readonly user: string;
}

export type ApprovalAnswer =
  | { readonly decision: 'allow'; readonly scope?: 'once' | 'session' | 'always'; readonly pattern?: string; readonly updatedInput?: unknown }
  | { readonly decision: 'deny'; readonly message?: string };

export interface ApprovalRule {
  readonly id: string;
  readonly user: string;
  /** Set for a rule of one session (removed with it); absent for a rule of every session of the user. */
  readonly sessionId?: string;
  readonly pattern: string;
  readonly createdAt: string;
}

export interface ExtensionApprovals {
  /** Pending approvals, of one user or of all. */
  list(user?: string): ApprovalRequest[];
  get(id: string): ApprovalRequest | undefined;
  /** `by`: the user answering; undefined = the admin. Throws a typed error if `by` may not answer, or if it was already resolved. */
  answer(id: string, answer: ApprovalAnswer, by?: string): Promise<void>;
  rules(user?: string): ApprovalRule[];
  revokeRule(id: string, by?: string): void;
}

/** `answering`: decided, the answer is being written to the session's input (finished after a restart if need be). */
export type ApprovalStatus = 'pending' | 'answering' | 'allowed' | 'denied' | 'expired';

/** An approval as the daemon keeps it: the request, whom to answer, and how it ended. */
export interface ApprovalRecord extends ApprovalRequest {
  /** The CLI's `request_id`, to answer with. */
  readonly requestId: string;
  /** The session process that asked: only it can be answered. */
  readonly launchId: number;
  readonly promptId?: string;
  readonly status: ApprovalStatus;
  /** Who decided: a user, `admin`, `rule:<id>`, `timeout`, `stop`, or `daemon` for an expired one. */
  readonly decidedBy?: string;
  readonly reason?: string;
  readonly resolvedAt?: string;
  /** The answer decided on, kept from `answering` on: a restart finishes writing it, never decides again. */
  readonly answer?: PermissionAnswer;
  /** The rule the answer saved ("for this session" or "always"), if it saved one. */
  readonly storedPattern?: string;
}

export function publicRequest(record: ApprovalRecord): ApprovalRequest {
  const { id, sessionId, user, tool, input, summary, suggestedPattern, sessionPattern, requestedAt, expiresAt } = record;
  return { id, sessionId, user, tool, input, summary, suggestedPattern, sessionPattern, requestedAt, expiresAt };
}

/** Typed errors of approvals (see core/util/errors.ts): each says what to do. */

export class ApprovalNotFoundError extends Error {
  readonly code = 'approval_not_found';
  constructor(readonly approval: string) {
    super(`no approval "${approval}": \`claude-ext approvals\` lists the pending ones`);
    this.name = 'ApprovalNotFoundError';
  }
}

export class ApprovalClosedError extends Error {
  readonly code = 'approval_closed';
  constructor(
    readonly approval: string,
    readonly status: string,
    readonly closedAt: string | undefined,
    readonly reason: string | undefined,
  ) {
    super(`too late: approval ${approval} was already ${status}${closedAt ? ` at ${closedAt}` : ''}${reason ? ` (${reason})` : ''}`);
    this.name = 'ApprovalClosedError';
  }
}

export class ApprovalForbiddenError extends Error {
  readonly code = 'approval_forbidden';
  constructor(
    readonly approval: string,
    readonly by: string,
  ) {
    super(`${by} may not answer approval ${approval}: only the session's own user or the admin can`);
    this.name = 'ApprovalForbiddenError';
  }
}

export class RuleNotFoundError extends Error {
  readonly code = 'rule_not_found';
  constructor(
    readonly rule: string,
    readonly by: string | undefined,
  ) {
    super(`no rule "${rule}"${by === undefined ? '' : ` of user ${by}`}: \`claude-ext rules list\` shows them`);
    this.name = 'RuleNotFoundError';
  }
}

export class InvalidPatternError extends Error {
  readonly code = 'invalid_pattern';
  constructor(
    readonly pattern: string,
    readonly hint: string,
  ) {
    super(`"${pattern}" is not a permission rule: ${hint}`);
    this.name = 'InvalidPatternError';
  }
}

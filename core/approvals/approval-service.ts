import path from 'node:path';
import type { PermissionAnswer } from '../sessions/claude/claude-args.ts';
import type { ApprovalDecision, ApprovalRequestFields, StreamEvent } from '../sessions/events.ts';
import type { EventLog } from '../sessions/event-log.ts';
import type { SessionSummary } from '../sessions/session-types.ts';
import { newId } from '../util/ids.ts';
import type { Logger } from '../util/log.ts';
import { ApprovalClosedError, ApprovalForbiddenError, ApprovalNotFoundError, RuleNotFoundError } from './approval-errors.ts';
import { ApprovalStore, resolvedLongAgo, RuleFile } from './approval-store.ts';
import { inputHasAnswer } from './input-answers.ts';
import { publicRequest, type ApprovalAnswer, type ApprovalRecord, type ApprovalRequest, type ApprovalRule, type ExtensionApprovals } from './approval-types.ts';
import { exactPattern, formatPattern, parsePattern, patternMatches, suggestPattern, summarizeCall } from './rule-pattern.ts';

/** A `can_use_tool` request of a session's process, as the engine hands it over. */
export type PermissionRequest = Extract<StreamEvent, { type: 'permission_request' }> & {
  readonly sessionId: string;
  readonly launchId: number;
  readonly promptId: string | undefined;
};

/** What approvals need of the engine. */
export interface ApprovalEngine {
  getSession(sessionId: string): SessionSummary | undefined;
  listSessions(): SessionSummary[];
  sessionDir(sessionId: string): string;
  /** The launch id of the session's running process, if it has one. */
  processLaunchId(sessionId: string): number | undefined;
  /** Writes the answer to the process's input; false when `launchId` is no longer the running process. */
  answerPermission(sessionId: string, launchId: number, requestId: string, answer: PermissionAnswer): boolean;
  /** Tells the session's frontends. */
  announce(sessionId: string, event: ({ type: 'approval_requested' } & ApprovalRequestFields) | { type: 'approval_resolved'; id: string; decision: ApprovalDecision; by: string; reason: string }): void;
}

export interface ApprovalServiceOptions {
  readonly stateDir: string;
  readonly engine: ApprovalEngine;
  readonly eventLog: EventLog;
  readonly log: Logger;
  /** `approvals.timeout`: an approval not answered within it is denied. */
  readonly timeoutMs: () => number;
  /** How often pending approvals are checked for their timeout and their process (default 1 s). */
  readonly sweepIntervalMs?: number;
}

const ADMIN = 'admin';

/**
 * Tool calls waiting for a person's yes or no. A request is on disk before anyone hears of it; every
 * approval resolves exactly once: by an answer, by a stored rule, by its timeout, by `stop`, or as
 * expired when the process that asked is gone. An answer reaches only the process that asked.
 */
export class ApprovalService implements ExtensionApprovals {
  private readonly store: ApprovalStore;
  private readonly userRules: RuleFile;
  private readonly records = new Map<string, ApprovalRecord>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: ApprovalServiceOptions) {
    this.store = new ApprovalStore(path.join(options.stateDir, 'approvals'));
    this.userRules = new RuleFile(path.join(options.stateDir, 'approvals', 'rules.json'));
    // Approvals kept before "for this session" saved the exact call have no sessionPattern on disk.
    for (const record of this.store.loadAll()) this.records.set(record.id, { ...record, sessionPattern: record.sessionPattern ?? exactPattern(record.tool, record.input) });
  }

  /** Starts the timeout checks. */
  start(): void {
    this.sweeper ??= setInterval(() => this.sweep(), this.options.sweepIntervalMs ?? 1000);
    this.sweeper.unref();
  }

  dispose(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Tells frontends again of every pending approval (after a start, once they are registered). */
  announcePending(): void {
    this.finishAnswering();
    this.sweep();
    for (const record of this.pending()) this.options.engine.announce(record.sessionId, requestedEvent(record));
  }

  // ---- requests from sessions -------------------------------------------------------------------

  /** A session's process asks: answered at once by a matching rule, else kept and announced. */
  request(request: PermissionRequest): void {
    if ([...this.records.values()].some((r) => r.sessionId === request.sessionId && r.requestId === request.requestId)) return;
    const session = this.options.engine.getSession(request.sessionId);
    if (!session) return;
    const now = Date.now();
    const record: ApprovalRecord = {
      id: newId('ap'),
      requestId: request.requestId,
      sessionId: session.id,
      user: session.user,
      launchId: request.launchId,
      ...(request.promptId ? { promptId: request.promptId } : {}),
      tool: request.tool,
      input: request.input,
      summary: summarizeCall(request.tool, request.input),
      suggestedPattern: suggestPattern(request.tool, request.input, request.suggestedRules),
      sessionPattern: exactPattern(request.tool, request.input),
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.options.timeoutMs()).toISOString(),
      status: 'pending',
    };
    this.save(record);
    const rule = this.matchingRule(record);
    if (rule) {
      this.options.eventLog.record('approval_by_rule', { session: record.sessionId, approval: record.id, tool: record.tool, rule: rule.id, pattern: rule.pattern });
      this.resolve(record, { behavior: 'allow', updatedInput: record.input }, `rule:${rule.id}`, `matches the rule ${rule.pattern}`, false);
      return;
    }
    this.options.eventLog.record('approval_requested', { session: record.sessionId, approval: record.id, tool: record.tool, summary: record.summary });
    this.options.engine.announce(record.sessionId, requestedEvent(record));
  }

  /** The CLI withdrew a request (its turn was interrupted): nobody waits for the answer any more. */
  withdrawn(sessionId: string, requestId: string): void {
    const record = this.pending().find((r) => r.sessionId === sessionId && r.requestId === requestId);
    if (record) this.closeRecord(record, 'expired', 'daemon', 'the session no longer waits for this answer');
  }

  /** `stop` denies what the session waits for, before the interrupt reaches it. */
  sessionStopped(sessionId: string): void {
    for (const record of this.pending().filter((r) => r.sessionId === sessionId)) {
      this.resolve(record, { behavior: 'deny', message: 'the session was stopped' }, 'stop', 'the session was stopped');
    }
  }

  // ---- ExtensionApprovals -----------------------------------------------------------------------

  list(user?: string): ApprovalRequest[] {
    return this.pending()
      .filter((r) => user === undefined || r.user === user)
      .map(publicRequest);
  }

  get(id: string): ApprovalRequest | undefined {
    const record = this.records.get(id);
    return record?.status === 'pending' ? publicRequest(record) : undefined;
  }

  /** Every approval kept (resolved ones for a day), of one user or of all, oldest first. */
  history(user?: string): ApprovalRecord[] {
    return [...this.records.values()].filter((r) => user === undefined || r.user === user).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  async answer(id: string, answer: ApprovalAnswer, by?: string): Promise<void> {
    const record = this.records.get(id);
    if (!record) throw new ApprovalNotFoundError(id);
    if (by !== undefined && by !== record.user) throw new ApprovalForbiddenError(id, by);
    if (record.status !== 'pending') throw new ApprovalClosedError(id, record.status, record.resolvedAt, record.reason);
    const who = by ?? ADMIN;
    if (answer.decision === 'deny') {
      const message = answer.message?.trim() || `denied by ${who}`;
      this.resolveOrExpire(record, { behavior: 'deny', message }, who, message);
      return;
    }
    const scope = answer.scope ?? 'once';
    const pattern = scope === 'once' ? undefined : formatPattern(parsePattern(answer.pattern ?? (scope === 'session' ? record.sessionPattern : record.suggestedPattern)));
    this.resolveOrExpire(record, { behavior: 'allow', updatedInput: answer.updatedInput ?? record.input }, who, pattern ? `allowed ${scope === 'session' ? 'for this session' : 'always'}: ${pattern}` : 'allowed once', pattern);
    if (pattern) {
      this.addRule({ id: newId('rule'), user: record.user, ...(scope === 'session' ? { sessionId: record.sessionId } : {}), pattern, createdAt: new Date().toISOString() });
    }
  }

  rules(user?: string): ApprovalRule[] {
    const sessionRules = this.sessionIdsWithRules().flatMap((sessionId) => this.sessionRules(sessionId).read());
    return [...this.userRules.read(), ...sessionRules].filter((rule) => user === undefined || rule.user === user);
  }

  revokeRule(id: string, by?: string): void {
    const owned = (rule: ApprovalRule): boolean => rule.id === id && (by === undefined || rule.user === by);
    const userRules = this.userRules.read();
    if (userRules.some(owned)) {
      this.userRules.write(userRules.filter((rule) => !owned(rule)));
      this.options.eventLog.record('approval_rule_revoked', { rule: id, by: by ?? ADMIN });
      return;
    }
    for (const sessionId of this.sessionIdsWithRules()) {
      const file = this.sessionRules(sessionId);
      const rules = file.read();
      if (rules.some(owned)) {
        file.write(rules.filter((rule) => !owned(rule)));
        this.options.eventLog.record('approval_rule_revoked', { rule: id, by: by ?? ADMIN, session: sessionId });
        return;
      }
    }
    throw new RuleNotFoundError(id, by);
  }

  // ---- the rest ---------------------------------------------------------------------------------

  /** Stores a rule (or finds the same one stored before) and lets it answer the calls it covers. */
  private addRule(wanted: ApprovalRule): void {
    const file = wanted.sessionId ? this.sessionRules(wanted.sessionId) : this.userRules;
    const rules = file.read();
    let rule = rules.find((r) => r.pattern === wanted.pattern && r.user === wanted.user);
    if (!rule) {
      rule = wanted;
      file.write([...rules, rule]);
      this.options.eventLog.record('approval_rule_added', { rule: rule.id, user: rule.user, session: rule.sessionId ?? null, pattern: rule.pattern });
    }
    // Calls already waiting that the new rule covers need nobody any more.
    for (const record of this.pending()) {
      if (record.user !== rule.user || (rule.sessionId && record.sessionId !== rule.sessionId)) continue;
      if (patternMatches(rule.pattern, record.tool, record.input)) this.resolve(record, { behavior: 'allow', updatedInput: record.input }, `rule:${rule.id}`, `matches the rule ${rule.pattern}`);
    }
  }

  private matchingRule(record: ApprovalRecord): ApprovalRule | undefined {
    const candidates = [...this.sessionRules(record.sessionId).read(), ...this.userRules.read().filter((rule) => rule.user === record.user)];
    return candidates.find((rule) => patternMatches(rule.pattern, record.tool, record.input));
  }

  private sessionRules(sessionId: string): RuleFile {
    return new RuleFile(path.join(this.options.engine.sessionDir(sessionId), 'approval-rules.json'));
  }

  private sessionIdsWithRules(): string[] {
    return this.options.engine.listSessions().map((session) => session.id);
  }

  private pending(): ApprovalRecord[] {
    return [...this.records.values()].filter((r) => r.status === 'pending');
  }

  /** Answers the process that asked, or closes the approval as expired when that process is gone. */
  private resolveOrExpire(record: ApprovalRecord, answer: PermissionAnswer, by: string, reason: string, storedPattern?: string): void {
    this.resolve(record, answer, by, reason, true, storedPattern);
    const closed = this.records.get(record.id);
    if (closed?.status === 'expired') throw new ApprovalClosedError(record.id, 'expired', closed.resolvedAt, closed.reason);
  }

  /**
   * Answers exactly once, across a crash too: the decision is on disk (`answering`) before it is written
   * to the session's input, and closed after; a restart finishes what is left (see finishAnswering).
   */
  private resolve(record: ApprovalRecord, answer: PermissionAnswer, by: string, reason: string, announce = true, storedPattern?: string): void {
    const answering: ApprovalRecord = { ...record, status: 'answering', answer, decidedBy: by, reason, ...(storedPattern ? { storedPattern } : {}) };
    this.save(answering);
    this.writeAnswer(answering, answer, announce);
  }

  private writeAnswer(record: ApprovalRecord, answer: PermissionAnswer, announce: boolean): void {
    const written = this.options.engine.answerPermission(record.sessionId, record.launchId, record.requestId, answer);
    if (!written) {
      this.closeRecord(record, 'expired', 'daemon', 'the session process that asked is no longer running', announce);
      return;
    }
    this.closeDecided(record, answer, announce);
  }

  private closeDecided(record: ApprovalRecord, answer: PermissionAnswer, announce: boolean): void {
    this.closeRecord(record, answer.behavior === 'allow' ? 'allowed' : 'denied', record.decidedBy ?? ADMIN, record.reason ?? '', announce);
  }

  /**
   * Approvals the daemon died answering: one whose answer is already in the session's input is closed
   * with it, without writing again (the CLI may have acted on it); any other gets its answer now.
   */
  private finishAnswering(): void {
    for (const record of [...this.records.values()].filter((r) => r.status === 'answering')) {
      try {
        const answer = record.answer;
        if (!answer) this.closeRecord(record, 'expired', 'daemon', 'the daemon stopped while answering and the answer was not kept');
        else if (inputHasAnswer(path.join(this.options.engine.sessionDir(record.sessionId), 'input.jsonl'), record.requestId)) this.closeDecided(record, answer, true);
        else this.writeAnswer(record, answer, true);
      } catch (error) {
        this.options.log.error('could not finish an approval answered before a restart', { approval: record.id, error: (error as Error).message });
      }
    }
  }

  private closeRecord(record: ApprovalRecord, status: Exclude<ApprovalRecord['status'], 'pending' | 'answering'>, by: string, reason: string, announce = true): void {
    const closed: ApprovalRecord = { ...record, status, decidedBy: by, reason, resolvedAt: new Date().toISOString() };
    this.save(closed);
    const decision: ApprovalDecision = status === 'allowed' ? 'allow' : status === 'denied' ? 'deny' : 'expired';
    this.options.eventLog.record('approval_resolved', { session: record.sessionId, approval: record.id, decision, by, reason });
    if (announce && this.options.engine.getSession(record.sessionId)) {
      this.options.engine.announce(record.sessionId, { type: 'approval_resolved', id: record.id, decision, by, reason });
    }
  }

  private save(record: ApprovalRecord): void {
    this.store.save(record);
    this.records.set(record.id, record);
  }

  /** Denies what timed out; closes what no process waits for any more; forgets what was closed a day ago. */
  private sweep(): void {
    const now = Date.now();
    for (const record of [...this.records.values()].filter((r) => resolvedLongAgo(r, now))) {
      this.store.remove(record.id);
      this.records.delete(record.id);
    }
    for (const record of this.pending()) {
      try {
        const session = this.options.engine.getSession(record.sessionId);
        if (!session) this.closeRecord(record, 'expired', 'daemon', 'the session was deleted', false);
        else if (this.options.engine.processLaunchId(record.sessionId) !== record.launchId) this.closeRecord(record, 'expired', 'daemon', 'the session process that asked is no longer running');
        else if (Date.parse(record.expiresAt) <= now) {
          const message = `not answered within ${formatDuration(Date.parse(record.expiresAt) - Date.parse(record.requestedAt))}`;
          this.resolve(record, { behavior: 'deny', message }, 'timeout', message);
        }
      } catch (error) {
        this.options.log.error('could not check a pending approval', { approval: record.id, error: (error as Error).message });
      }
    }
  }
}

function requestedEvent(record: ApprovalRecord): { type: 'approval_requested' } & ApprovalRequestFields {
  return { type: 'approval_requested', id: record.id, tool: record.tool, input: record.input, summary: record.summary, suggestedPattern: record.suggestedPattern, sessionPattern: record.sessionPattern, requestedAt: record.requestedAt, expiresAt: record.expiresAt };
}

/** `10m`, `90s`, `1h30m`: the way durations are written in the configuration. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const text = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return text || '0s';
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ApprovalClosedError, ApprovalForbiddenError, ApprovalNotFoundError } from '../../../../core/approvals/approval-errors.ts';
import { ApprovalService, formatDuration, type ApprovalEngine, type PermissionRequest } from '../../../../core/approvals/approval-service.ts';
import { ApprovalStore } from '../../../../core/approvals/approval-store.ts';
import type { ApprovalRecord } from '../../../../core/approvals/approval-types.ts';
import { permissionResponseLine, type PermissionAnswer } from '../../../../core/sessions/claude/claude-args.ts';
import { EventLog } from '../../../../core/sessions/event-log.ts';
import type { SessionSummary } from '../../../../core/sessions/session-types.ts';
import { silentLogger } from '../../../../core/util/log.ts';

interface Written {
  sessionId: string;
  requestId: string;
  answer: PermissionAnswer;
}

function session(id: string, user: string): SessionSummary {
  const now = new Date().toISOString();
  return { id, user, name: id, cwd: '/', labels: {}, conversationId: 'c', status: 'busy', warm: true, queued: 0, counters: { prompts: 1, turns: 0, costUsd: 0 }, createdAt: now, lastActiveAt: now };
}

/** An engine with sessions whose processes can be swapped, recording what is written to them. */
class FakeEngine implements ApprovalEngine {
  readonly sessions = new Map<string, { summary: SessionSummary; launchId: number | undefined }>();
  readonly written: Written[] = [];
  readonly announced: Array<{ sessionId: string; type: string; decision?: string; by?: string; reason?: string }> = [];
  constructor(private readonly root: string) {}
  add(id: string, user: string): void {
    fs.mkdirSync(this.sessionDir(id), { recursive: true });
    this.sessions.set(id, { summary: session(id, user), launchId: 1 });
  }
  getSession = (id: string) => this.sessions.get(id)?.summary;
  listSessions = () => [...this.sessions.values()].map((s) => s.summary);
  sessionDir = (id: string) => path.join(this.root, 'sessions', id);
  processLaunchId = (id: string) => this.sessions.get(id)?.launchId;
  /** Where the daemon is killed: just before the answer is appended to the input, or just after. */
  crash: 'before-write' | 'after-write' | undefined;
  answerPermission = (sessionId: string, launchId: number, requestId: string, answer: PermissionAnswer) => {
    if (this.sessions.get(sessionId)?.launchId !== launchId) return false;
    if (this.crash === 'before-write') throw new Error('SIGKILL before the write');
    this.written.push({ sessionId, requestId, answer });
    fs.appendFileSync(path.join(this.sessionDir(sessionId), 'input.jsonl'), permissionResponseLine(requestId, answer));
    if (this.crash === 'after-write') throw new Error('SIGKILL after the write');
    return true;
  };
  announce = (sessionId: string, event: { type: string; decision?: string; by?: string; reason?: string }) => void this.announced.push({ sessionId, ...event });
}

function request(sessionId: string, requestId: string, command: string, suggestedRules: string[] = []): PermissionRequest {
  return { type: 'permission_request', sessionId, launchId: 1, promptId: 'p_1', requestId, tool: 'Bash', input: { command }, toolUseId: 't', suggestedRules };
}

describe('approval service', () => {
  let root: string;
  let engine: FakeEngine;
  let eventLog: EventLog;
  let timeoutMs: number;
  const services: ApprovalService[] = [];
  const service = (): ApprovalService => {
    const created = new ApprovalService({ stateDir: root, engine, eventLog, log: silentLogger, timeoutMs: () => timeoutMs, sweepIntervalMs: 20 });
    services.push(created);
    return created;
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-approvals-'));
    engine = new FakeEngine(root);
    engine.add('s_a', 'alice');
    engine.add('s_b', 'alice');
    engine.add('s_c', 'bob');
    eventLog = new EventLog({ file: path.join(root, 'events.jsonl'), maxBytes: 1e7, keep: 1 });
    timeoutMs = 600_000;
  });
  afterEach(() => {
    for (const s of services.splice(0)) s.dispose();
    eventLog.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a request is on disk (0600) before it is announced, and is pending until answered', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'git push'));
    const [pending] = approvals.list();
    assert.ok(pending);
    assert.equal(pending.user, 'alice');
    assert.equal(pending.summary, 'Bash: git push');
    assert.equal(pending.suggestedPattern, 'Bash(git push:*)');
    assert.equal(engine.announced[0]?.type, 'approval_requested');
    const file = path.join(root, 'approvals', `${pending.id}.json`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(engine.written.length, 0);
    await approvals.answer(pending.id, { decision: 'allow' });
    assert.deepEqual(engine.written, [{ sessionId: 's_a', requestId: 'r1', answer: { behavior: 'allow', updatedInput: { command: 'git push' } } }]);
    assert.deepEqual(approvals.list(), []);
    assert.equal(engine.announced.at(-1)?.type, 'approval_resolved');
    assert.equal(engine.announced.at(-1)?.by, 'admin');
  });

  test('the same request read twice (a stream read again after a restart) is one approval', () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'ls'));
    approvals.request(request('s_a', 'r1', 'ls'));
    assert.equal(approvals.list().length, 1);
  });

  test('every approval resolves once: a second answer is told it is too late', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'ls'));
    const id = approvals.list()[0]?.id ?? '';
    await approvals.answer(id, { decision: 'deny', message: 'no' }, 'alice');
    await assert.rejects(approvals.answer(id, { decision: 'allow' }), ApprovalClosedError);
    assert.equal(engine.written.length, 1);
    assert.deepEqual(engine.written[0]?.answer, { behavior: 'deny', message: 'no' });
    await assert.rejects(approvals.answer('ap_nothing', { decision: 'allow' }), ApprovalNotFoundError);
  });

  test('only the session\'s user or the admin may answer', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'ls'));
    const id = approvals.list()[0]?.id ?? '';
    await assert.rejects(approvals.answer(id, { decision: 'allow' }, 'bob'), ApprovalForbiddenError);
    assert.equal(engine.written.length, 0);
    assert.equal(approvals.list().length, 1);
  });

  test('an answer for a process that is gone closes the approval as expired, writing nothing', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'ls'));
    const id = approvals.list()[0]?.id ?? '';
    (engine.sessions.get('s_a') as { launchId: number | undefined }).launchId = 2;
    await assert.rejects(approvals.answer(id, { decision: 'allow' }), /expired/);
    assert.equal(engine.written.length, 0);
    assert.equal(approvals.history().find((r) => r.id === id)?.status, 'expired');
  });

  test('a session rule answers that session only; an "always" rule every session of the user, no other user\'s', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'make test'));
    await approvals.answer(approvals.list()[0]?.id ?? '', { decision: 'allow', scope: 'session' });
    approvals.request(request('s_a', 'r2', 'make test'));
    approvals.request(request('s_b', 'r3', 'make test'));
    assert.deepEqual(approvals.list().map((a) => a.sessionId), ['s_b'], 'the same session was answered by the rule');
    await approvals.answer(approvals.list()[0]?.id ?? '', { decision: 'allow', scope: 'always', pattern: 'Bash(make:*)' });
    approvals.request(request('s_b', 'r4', 'make lint'));
    approvals.request(request('s_c', 'r5', 'make lint'));
    assert.deepEqual(approvals.list().map((a) => a.user), ['bob']);
    assert.deepEqual(engine.written.map((w) => w.requestId), ['r1', 'r2', 'r3', 'r4']);
    const rules = approvals.rules('alice');
    assert.deepEqual(rules.map((r) => [r.pattern, r.sessionId]), [['Bash(make:*)', undefined], ['Bash(make test)', 's_a']]);
    assert.throws(() => approvals.revokeRule(rules[0]?.id ?? '', 'bob'), /no rule/);
    approvals.revokeRule(rules[0]?.id ?? '', 'alice');
    approvals.request(request('s_b', 'r6', 'make lint'));
    assert.ok(approvals.list().some((a) => a.sessionId === 's_b'));
  });

  test('"allow for this session" answers the next identical call only, unless the answer names a pattern', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'git push origin main'));
    const asked = approvals.list()[0];
    assert.equal(asked?.sessionPattern, 'Bash(git push origin main)');
    await approvals.answer(asked?.id ?? '', { decision: 'allow', scope: 'session' });
    assert.equal(approvals.history().find((r) => r.id === asked?.id)?.storedPattern, 'Bash(git push origin main)');
    approvals.request(request('s_a', 'r2', 'git push origin main'));
    approvals.request(request('s_a', 'r3', 'git push --force origin main'));
    assert.deepEqual(approvals.list().map((a) => a.summary), ['Bash: git push --force origin main']);
    await approvals.answer(approvals.list()[0]?.id ?? '', { decision: 'allow', scope: 'session', pattern: 'Bash(git push:*)' });
    approvals.request(request('s_a', 'r4', 'git push --tags'));
    assert.deepEqual(approvals.list(), []);
    assert.deepEqual(engine.written.map((w) => w.requestId), ['r1', 'r2', 'r3', 'r4']);
  });

  test('an exact session rule of a command with a star answers that command, not what the star would', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'rm *.log'));
    await approvals.answer(approvals.list()[0]?.id ?? '', { decision: 'allow', scope: 'session' });
    approvals.request(request('s_a', 'r2', 'rm -rf /.log'));
    approvals.request(request('s_a', 'r3', 'rm *.log'));
    assert.deepEqual(approvals.list().map((a) => a.summary), ['Bash: rm -rf /.log']);
  });

  test('a new rule also answers the calls of its scope already waiting', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'npm test'));
    approvals.request(request('s_b', 'r2', 'npm test -- --watch'));
    await approvals.answer(approvals.list()[0]?.id ?? '', { decision: 'allow', scope: 'always', pattern: 'Bash(npm test:*)' });
    assert.deepEqual(approvals.list(), []);
    assert.deepEqual(engine.written.map((w) => w.requestId).sort(), ['r1', 'r2']);
  });

  test('pending approvals survive a restart of the service; resolved ones are remembered', async () => {
    const first = service();
    first.request(request('s_a', 'r1', 'ls'));
    first.request(request('s_a', 'r2', 'pwd'));
    await first.answer(first.list()[0]?.id ?? '', { decision: 'allow' });
    first.dispose();
    const second = service();
    assert.deepEqual(second.list().map((a) => a.summary), ['Bash: pwd']);
    second.request(request('s_a', 'r1', 'ls'));
    assert.equal(second.list().length, 1, 'a request answered before the restart is not asked again');
    engine.announced.length = 0;
    second.announcePending();
    assert.deepEqual(engine.announced.map((e) => e.type), ['approval_requested']);
  });

  test('killed after the answer reached the input: after the restart it is closed with that answer, never written again', async () => {
    const first = service();
    first.request(request('s_a', 'r1', 'git push'));
    const id = first.list()[0]?.id ?? '';
    engine.crash = 'after-write';
    await assert.rejects(first.answer(id, { decision: 'allow' }, 'alice'), /SIGKILL/);
    engine.crash = undefined;
    first.dispose();
    assert.equal(new ApprovalStore(path.join(root, 'approvals')).load(id)?.status, 'answering', 'the decision was on disk before the write');

    engine.announced.length = 0;
    const second = service();
    second.request(request('s_a', 'r1', 'git push'));
    second.announcePending();
    assert.equal(engine.written.length, 1, 'written once');
    const record = second.history().find((r) => r.id === id);
    assert.equal(record?.status, 'allowed');
    assert.equal(record?.decidedBy, 'alice');
    assert.deepEqual(engine.announced.map((e) => [e.type, e.decision]), [['approval_resolved', 'allow']], 'not announced as waiting again');
    await assert.rejects(second.answer(id, { decision: 'deny' }), ApprovalClosedError);
  });

  test('killed before the answer reached the input: after the restart the saved answer is written, once', async () => {
    const first = service();
    first.request(request('s_a', 'r1', 'git push'));
    const id = first.list()[0]?.id ?? '';
    engine.crash = 'before-write';
    await assert.rejects(first.answer(id, { decision: 'deny', message: 'not today' }, 'alice'), /SIGKILL/);
    engine.crash = undefined;
    first.dispose();
    assert.equal(engine.written.length, 0);

    const second = service();
    second.announcePending();
    second.announcePending();
    assert.deepEqual(engine.written, [{ sessionId: 's_a', requestId: 'r1', answer: { behavior: 'deny', message: 'not today' } }]);
    assert.equal(second.history().find((r) => r.id === id)?.status, 'denied');
    assert.deepEqual(second.list(), []);
  });

  test('a call answered by a rule is finished the same way after a kill', async () => {
    const first = service();
    first.request(request('s_a', 'r1', 'make test'));
    await first.answer(first.list()[0]?.id ?? '', { decision: 'allow', scope: 'session' });
    engine.crash = 'before-write';
    assert.throws(() => first.request(request('s_a', 'r2', 'make test')), /SIGKILL/);
    engine.crash = undefined;
    first.dispose();
    const second = service();
    second.announcePending();
    assert.deepEqual(engine.written.map((w) => w.requestId), ['r1', 'r2']);
    assert.match(second.history().find((r) => r.requestId === 'r2')?.decidedBy ?? '', /^rule:/);
  });

  test('timeout denies with the reason; stop denies; a withdrawn request expires', async () => {
    timeoutMs = 50;
    const approvals = service();
    approvals.start();
    approvals.request(request('s_a', 'r1', 'ls'));
    await waitUntil(() => approvals.list().length === 0);
    assert.deepEqual(engine.written[0]?.answer, { behavior: 'deny', message: 'not answered within 0s' });
    timeoutMs = 600_000;
    approvals.request(request('s_a', 'r2', 'ls'));
    approvals.sessionStopped('s_a');
    assert.deepEqual(engine.written[1]?.answer, { behavior: 'deny', message: 'the session was stopped' });
    approvals.request(request('s_a', 'r3', 'ls'));
    approvals.withdrawn('s_a', 'r3');
    assert.equal(approvals.history().find((r) => r.requestId === 'r3')?.status, 'expired');
    assert.equal(engine.written.length, 2);
  });

  test('a deleted session\'s approvals expire', async () => {
    const approvals = service();
    approvals.start();
    approvals.request(request('s_c', 'r1', 'ls'));
    engine.sessions.delete('s_c');
    await waitUntil(() => approvals.list().length === 0);
    assert.equal(approvals.history()[0]?.reason, 'the session was deleted');
  });

  test('resolved approvals are forgotten a day after, while the daemon runs too', async (t) => {
    const approvals = service();
    approvals.start();
    approvals.request(request('s_a', 'r1', 'ls'));
    const id = approvals.list()[0]?.id ?? '';
    await approvals.answer(id, { decision: 'allow' });
    const file = path.join(root, 'approvals', `${id}.json`);
    assert.ok(fs.existsSync(file));
    const realNow = Date.now;
    t.after(() => {
      Date.now = realNow;
    });
    Date.now = () => realNow() + 25 * 3_600_000;
    await waitUntil(() => approvals.history().length === 0);
    assert.ok(!fs.existsSync(file));
  });

  test('a rule stored before is used, not added again: no second add is logged, and calls it answers name it', async () => {
    const approvals = service();
    approvals.request(request('s_a', 'r1', 'make a'));
    approvals.request(request('s_b', 'r2', 'make b'));
    const rules = path.join(root, 'approvals', 'rules.json');
    fs.writeFileSync(rules, JSON.stringify({ rules: [{ id: 'rule_before', user: 'alice', pattern: 'Bash(make:*)', createdAt: new Date().toISOString() }] }));
    const added: unknown[] = [];
    eventLog.onRecord((record) => void (record.type === 'approval_rule_added' && added.push(record)));
    await approvals.answer(approvals.list()[0]?.id ?? '', { decision: 'allow', scope: 'always', pattern: 'Bash(make:*)' });
    assert.deepEqual(added, []);
    assert.deepEqual(approvals.rules('alice').map((r) => r.id), ['rule_before']);
    assert.equal(approvals.history().find((r) => r.requestId === 'r2')?.decidedBy, 'rule:rule_before');
  });

  test('durations read as the configuration writes them', () => {
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(5400_000), '1h30m');
    assert.equal(formatDuration(2000), '2s');
  });
});

describe('approval store', () => {
  test('writes atomically (no temp file left), reads back, and drops day-old resolved approvals', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-approval-store-'));
    const store = new ApprovalStore(dir);
    const base: ApprovalRecord = { id: 'ap_one', requestId: 'r', sessionId: 's', user: 'u', launchId: 1, tool: 'Bash', input: {}, summary: 'Bash: x', suggestedPattern: 'Bash(x:*)', sessionPattern: 'Bash(x)', requestedAt: new Date().toISOString(), expiresAt: new Date().toISOString(), status: 'pending' };
    store.save(base);
    store.save({ ...base, id: 'ap_old', status: 'allowed', resolvedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['ap_old.json', 'ap_one.json']);
    assert.deepEqual(new ApprovalStore(dir).loadAll().map((r) => r.id), ['ap_one']);
    assert.deepEqual(fs.readdirSync(dir), ['ap_one.json']);
    assert.equal(store.load('../etc/passwd'), undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

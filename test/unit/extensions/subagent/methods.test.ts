import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import subagent from '../../../../extensions/subagent/extension.ts';
import type { SubagentConfig } from '../../../../extensions/subagent/config.ts';
import type { WaitOutcome, WorkerStatusView, WorkerView } from '../../../../extensions/subagent/protocol.ts';
import type { Template } from '../../../../core/shaping/templates.ts';
import type { EngineEvent, SessionSummary } from '../../../../core/extension-host/extension-api.ts';
import { fakeSession, startExtension, type ExtensionFixture } from '../extension-fixture.ts';
import { FakeSessions } from './fake-sessions.ts';
import { Supervisor } from '../../../../extensions/subagent/supervisor.ts';
import { WorkerStore } from '../../../../extensions/subagent/worker-store.ts';
import { paradigmsFrom } from '../../../../extensions/subagent/paradigms.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
}

function makeRepo(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'subagent-repo-'));
  roots.push(root);
  git(root, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(root, 'shared.txt'), 'original\n');
  git(root, 'add', '.');
  git(root, 'commit', '-qm', 'start');
  return root;
}

describe('subagent methods', () => {
  let sessions: FakeSessions;
  let templates: Omit<Template, 'source'>[];
  let fixture: ExtensionFixture<SubagentConfig>;
  let repo: string;
  let lead: SessionSummary;
  let onEvent: ((event: EngineEvent) => void | Promise<void>) | undefined;

  const start = async (config: Record<string, unknown> = {}): Promise<void> => {
    fixture = await startExtension(subagent(), { notify_lead: false, ...config }, {
      sessions,
      env: { PATH: process.env.PATH, HOME: os.tmpdir() },
      onEvent: (callback) => {
        onEvent = callback;
        return { dispose: () => (onEvent = undefined) };
      },
      addTemplate: (template) => {
        templates.push(template);
        return { dispose: () => templates.splice(templates.indexOf(template), 1) };
      },
    });
  };
  const spawn = (params: Record<string, unknown>, as: SessionSummary = lead) => fixture.call<WorkerView>('subagent.spawn', params, as);
  const promptOf = (worker: WorkerView): string => sessions.promptsOf(worker.session).at(-1)?.id ?? '';

  beforeEach(async () => {
    sessions = new FakeSessions();
    templates = [];
    repo = makeRepo();
    lead = sessions.add(fakeSession('alice', { id: 's_lead', name: 'lead', cwd: repo }));
    await start();
  });
  afterEach(() => fixture.stop());

  test("spawn: a worktree of the lead's HEAD on subagent/<id>, a hidden template that may write .git, a labelled session given the task", async () => {
    const worker = await spawn({ task: 'write the docs', name: 'docs', paradigm: 'tester' });
    assert.match(worker.id, /^w-[0-9a-f]{10}$/);
    assert.equal(worker.branch, `subagent/${worker.id}`);
    assert.equal(worker.worktree, path.join(repo, '.git', 'subagent-worktrees', worker.id));
    assert.equal(git(worker.worktree ?? '', 'rev-parse', 'HEAD'), git(repo, 'rev-parse', 'HEAD'));
    const session = sessions.get(worker.session);
    assert.equal(session?.cwd, worker.worktree);
    assert.deepEqual(session?.labels, { background: 'subagent', lead: 's_lead', subagent_worker: worker.id });
    assert.equal(session?.template, `subagent-${worker.id}`);
    const template = templates.find((t) => t.name === session?.template);
    assert.equal(template?.visibility, 'hidden');
    assert.deepEqual(template?.sandbox, { readable: [], writable: [path.join(repo, '.git')] });
    assert.deepEqual(template?.excludeMcpServers, ['subagent']);
    assert.match(template?.systemPrompt ?? '', /Your role: tester/);
    assert.equal(sessions.promptsOf(worker.session)[0]?.text, 'write the docs');
  });

  test('a spawn or a send made again with the same request id (after a restart) is not done twice', async () => {
    const first = await spawn({ task: 'once', name: 'once', worktree: false, requestId: 'call-0001' });
    const again = await spawn({ task: 'once', name: 'once', worktree: false, requestId: 'call-0001' });
    assert.equal(again.id, first.id);
    await fixture.call('subagent.send', { id: 'once', message: 'more', requestId: 'call-0002' }, lead);
    await fixture.call('subagent.send', { id: 'once', message: 'more', requestId: 'call-0002' }, lead);
    assert.deepEqual(sessions.promptsOf(first.session).map((p) => p.text), ['once', 'more']);
    assert.equal((await fixture.call<WorkerView[]>('subagent.list', {}, lead)).length, 1);
  });

  test('worktree: true outside a repository is refused; by default a worker there works in the lead directory', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'subagent-plain-'));
    roots.push(plain);
    const outside = sessions.add(fakeSession('bob', { id: 's_plain', cwd: plain }));
    await assert.rejects(spawn({ task: 'x', worktree: true }, outside), /is not in a git repository, so the worker cannot get a worktree/);
    const worker = await spawn({ task: 'x' }, outside);
    assert.equal(worker.worktree, undefined);
    assert.equal(sessions.get(worker.session)?.cwd, plain);
  });

  test("include_uncommitted copies the lead's changed and new files into the worktree, and the lead keeps them", async () => {
    fs.writeFileSync(path.join(repo, 'shared.txt'), 'changed\n');
    fs.mkdirSync(path.join(repo, 'new'));
    fs.writeFileSync(path.join(repo, 'new', 'file.txt'), 'new\n');
    const worker = await spawn({ task: 'x', include_uncommitted: true });
    const dir = worker.worktree ?? '';
    assert.equal(fs.readFileSync(path.join(dir, 'shared.txt'), 'utf8'), 'changed\n');
    assert.equal(fs.readFileSync(path.join(dir, 'new', 'file.txt'), 'utf8'), 'new\n');
    assert.match(git(dir, 'status', '--porcelain'), /\?\? new\//);
    assert.equal(fs.readFileSync(path.join(repo, 'shared.txt'), 'utf8'), 'changed\n');
  });

  test('wait: all waits for every worker, any for the first, a timeout names the pending ones', async () => {
    const a = await spawn({ task: 'a', name: 'a', worktree: false });
    const b = await spawn({ task: 'b', name: 'b', worktree: false });
    const timedOut = await fixture.call<WaitOutcome>('subagent.wait', { timeout_s: 0.05 }, lead);
    assert.deepEqual([timedOut.timedOut, timedOut.finished.length, [...timedOut.pending].sort()], [true, 0, [a.id, b.id].sort()]);
    const any = fixture.call<WaitOutcome>('subagent.wait', { mode: 'any', ids: ['a', 'b'] }, lead);
    const all = fixture.call<WaitOutcome>('subagent.wait', { mode: 'all' }, lead);
    sessions.finish(promptOf(b), 'success', 'b done');
    const first = await any;
    assert.deepEqual(first.finished.map((w) => [w.name, w.status, w.result?.text]), [['b', 'done', 'b done']]);
    assert.deepEqual(first.pending, [a.id]);
    sessions.finish(promptOf(a), 'error', 'a broke');
    const both = await all;
    assert.deepEqual(both.finished.map((w) => [w.name, w.status]).sort(), [['a', 'failed'], ['b', 'done']]);
    const nothingLeft = await fixture.call<WaitOutcome>('subagent.wait', {}, lead);
    assert.deepEqual(nothingLeft, { finished: [], pending: [], timedOut: false }, 'results already seen are not waited for again');
  });

  test('send queues a follow-up, the worker is running until it is answered; status shows queue, cost and tool calls', async () => {
    const worker = await spawn({ task: 'first', name: 'w', worktree: false });
    await fixture.call('subagent.send', { id: 'w', message: 'second' }, lead);
    const [first, second] = sessions.promptsOf(worker.session);
    let status = await fixture.call<WorkerStatusView>('subagent.status', { id: 'w' }, lead);
    assert.deepEqual([status.status, status.queued], ['running', 1]);
    sessions.finish(first?.id ?? '', 'success', 'one', 0.25);
    sessions.finish(second?.id ?? '', 'success', 'two', 0.5);
    const waited = await fixture.call<WaitOutcome>('subagent.wait', { ids: ['w'] }, lead);
    assert.equal(waited.finished[0]?.result?.text, 'two');
    status = await fixture.call<WorkerStatusView>('subagent.status', { id: 'w' }, lead);
    assert.deepEqual([status.status, status.queued, status.costUsd], ['done', 0, 0.75]);
  });

  test('limits: the fifth worker is refused naming the limit, a worker cannot start workers, budgets stop new work', async () => {
    for (const name of ['w1', 'w2', 'w3', 'w4']) await spawn({ task: name, name, worktree: false });
    await assert.rejects(spawn({ task: 'w5', worktree: false }), /already has 4 workers, the most allowed \(subagent\.max_workers\)/);
    const worker = sessions.get((await fixture.call<WorkerView[]>('subagent.list', {}, lead))[0]?.session ?? '') as SessionSummary;
    await assert.rejects(spawn({ task: 'nested', worktree: false }, worker), /a worker cannot start workers of its own \(subagent\.allow_nesting is off\)/);
    await fixture.stop();

    await start({ lead_budget_usd: 0.1 });
    const spender = await spawn({ task: 'spend', name: 'spender', worktree: false, budget_usd: 0.05 });
    sessions.finish(promptOf(spender), 'success', 'spent', 0.2);
    await fixture.call('subagent.wait', {}, lead);
    await assert.rejects(fixture.call('subagent.send', { id: 'spender', message: 'more' }, lead), /spent \$0\.2000 of their budget of \$0\.1 \(subagent\.lead_budget_usd\)/);
    await assert.rejects(spawn({ task: 'more', worktree: false }), /subagent\.lead_budget_usd/);
  });

  test('a prompt running longer than prompt_timeout is stopped and reported as a timeout', async () => {
    await fixture.stop();
    await start({ prompt_timeout: '50ms' });
    await spawn({ task: 'slow', name: 'slow', worktree: false });
    const waited = await fixture.call<WaitOutcome>('subagent.wait', { ids: ['slow'] }, lead);
    assert.deepEqual(waited.finished.map((w) => [w.status, w.result?.outcome]), [['failed', 'timeout']]);
  });

  test('merge takes committed work into the lead branch; cleanup removes the merged worker, refuses the unmerged one unless forced', async () => {
    const merged = await spawn({ task: 'm', name: 'merged' });
    const unmerged = await spawn({ task: 'u', name: 'unmerged' });
    for (const worker of [merged, unmerged]) {
      fs.writeFileSync(path.join(worker.worktree ?? '', `${worker.name}.txt`), `${worker.name}\n`);
      git(worker.worktree ?? '', 'add', '.');
      git(worker.worktree ?? '', 'commit', '-qm', `add ${worker.name}`);
      sessions.finish(promptOf(worker), 'success', 'ok');
    }
    await fixture.call('subagent.wait', {}, lead);
    const merge = await fixture.call<{ merged: boolean; into: string }>('subagent.merge', { id: 'merged' }, lead);
    assert.deepEqual([merge.merged, merge.into], [true, 'main']);
    assert.equal(fs.readFileSync(path.join(repo, 'merged.txt'), 'utf8'), 'merged\n');
    const report = await fixture.call<{ removed: string[]; kept: { worker: string; reason: string }[] }>('subagent.cleanup', { id: 'all' }, lead);
    assert.deepEqual(report.removed, [merged.id]);
    assert.deepEqual(report.kept.map((k) => k.worker), [unmerged.id]);
    assert.match(report.kept[0]?.reason ?? '', /1 commit not merged into main/);
    assert.ok(!fs.existsSync(merged.worktree ?? ''));
    assert.ok(!sessions.get(merged.session));
    const forced = await fixture.call<{ removed: string[] }>('subagent.cleanup', { id: 'unmerged', force: true }, lead);
    assert.deepEqual(forced.removed, [unmerged.id]);
    assert.equal(git(repo, 'branch', '--list', 'subagent/*'), '');
    assert.deepEqual(templates, [], "the workers' templates are gone with them");
    assert.deepEqual(await fixture.call('subagent.list', {}, lead), []);
  });

  test('after a restart the workers are read back and their prompts followed again: wait returns the result', async () => {
    const worker = await spawn({ task: 'long', name: 'long', worktree: false });
    const restarted = new Supervisor(fixture.ctx, new WorkerStore(path.join(fixture.dataDir, 'workers')), () => paradigmsFrom({}));
    restarted.resume();
    assert.deepEqual(restarted.list(lead.id).map((w) => [w.id, w.status]), [[worker.id, 'running']]);
    const waiting = restarted.wait(lead.id, undefined, 'all', 5000, new AbortController().signal);
    sessions.finish(promptOf(worker), 'success', 'finished after the restart');
    const outcome = await waiting;
    assert.deepEqual(outcome.finished.map((w) => w.result?.text), ['finished after the restart']);
  });

  test('a prompt saved with its worker when the daemon died before submitting it is submitted at the next start, once', async () => {
    const worker = await spawn({ task: 'long', name: 'saved', worktree: false });
    const store = new WorkerStore(path.join(fixture.dataDir, 'workers'));
    const record = store.get(worker.id);
    assert.ok(record);
    // The daemon saved a follow-up with its prompt id and died before the engine had it.
    store.update(worker.id, { pending: [...record.pending, 'p_unsent0001'], unsent: { promptId: 'p_unsent0001', text: 'and the tests too' } });
    const before = sessions.promptsOf(worker.session).length;
    for (let start = 0; start < 2; start += 1) new Supervisor(fixture.ctx, new WorkerStore(path.join(fixture.dataDir, 'workers')), () => paradigmsFrom({})).resume();
    const prompts = sessions.promptsOf(worker.session);
    assert.deepEqual(prompts.slice(before).map((p) => [p.id, p.text]), [['p_unsent0001', 'and the tests too']]);
    assert.equal(new WorkerStore(path.join(fixture.dataDir, 'workers')).get(worker.id)?.unsent, undefined);
  });

  test('paradigms from the configuration are used like the built-in ones; an unknown one is refused naming those there are', async () => {
    await fixture.stop();
    await start({ paradigms: { auditor: { description: 'Audits', instructions: 'Check the licences.', tools: ['Read'], model: 'claude-audit' } } });
    const worker = await spawn({ task: 'audit', paradigm: 'auditor', worktree: false });
    const template = templates.find((t) => t.name === `subagent-${worker.id}`);
    assert.deepEqual([template?.tools, template?.model], [['Read'], 'claude-audit']);
    assert.match(template?.systemPrompt ?? '', /Check the licences\./);
    await assert.rejects(spawn({ task: 'x', paradigm: 'poet', worktree: false }), /there is no paradigm "poet"; there are: coder, reviewer, researcher, tester, auditor/);
  });

  test('spawns made at the same time cannot pass the limit together', async () => {
    await fixture.stop();
    await start({ max_workers: 1 });
    const outcomes = await Promise.allSettled([spawn({ task: 'a', name: 'a' }), spawn({ task: 'b', name: 'b' })]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(git(repo, 'worktree', 'list').trim().split('\n').length, 2, 'one worktree besides the main one');
  });

  test("stopping the lead, busy or idle, stops its running workers; a turn the daemon ends after a restart does not", async () => {
    const worker = await spawn({ task: 'busy', name: 'busy', worktree: false });
    // An idle lead stopped: no turn ends, the stop itself is the event.
    await onEvent?.({ type: 'stop', sessionId: lead.id, user: lead.user, promptId: undefined, clearedPrompts: 0 });
    const waited = await fixture.call<WaitOutcome>('subagent.wait', { ids: [worker.id] }, lead);
    assert.deepEqual(waited.finished.map((w) => w.status), ['stopped']);

    const survivor = await spawn({ task: 'survive', name: 'survivor', worktree: false });
    const result = { outcome: 'stopped' as const, isError: true, text: '', subtype: undefined, costUsd: 0, durationMs: 1, numTurns: 1, usage: { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 } };
    await onEvent?.({ type: 'tool_call_lost', sessionId: lead.id, user: lead.user, promptId: 'p_lead2', server: 'subagent', tool: 'subagent_wait' });
    await onEvent?.({ type: 'result', sessionId: lead.id, user: lead.user, promptId: 'p_lead2', result });
    const still = await fixture.call<WorkerStatusView>('subagent.status', { id: survivor.id }, lead);
    assert.equal(still.status, 'running', 'a turn the daemon stopped because a restart cut its wait does not stop the workers');
  });

  test("a lead sees only its own workers", async () => {
    await spawn({ task: 'mine', name: 'mine', worktree: false });
    const other = sessions.add(fakeSession('alice', { id: 's_other', cwd: repo }));
    await assert.rejects(fixture.call('subagent.status', { id: 'mine' }, other), /this session has no worker "mine"/);
    assert.deepEqual(await fixture.call('subagent.list', {}, other), []);
  });
});

/**
 * session_ask end to end: real claude CLIs in real tmux, scripted by the stand-in model, ask each
 * other through the daemon's session_ask tool. A question is a prompt of the target session; its
 * reply comes back as the asker's tool result (`@echo-tool` makes the asker's reply that result).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

interface Ids {
  sessionId: string;
  promptId: string;
}

interface PromptJson {
  text: string;
  fromSession?: string;
  result?: { text: string; outcome: string };
}

interface AskJson {
  id: string;
  kind: string;
  status: string;
  requestId: string;
  from: { sessionId: string; name: string; user: string };
  to: { sessionId: string; name: string; user: string };
  promptId: string;
  withdrawn?: boolean;
  reason?: string;
  answer?: string;
}

interface SessionJson {
  id: string;
  name: string;
  cwd: string;
  status: string;
  queued: number;
  counters: { prompts: number };
}

const ASK_TOOL = 'mcp__session_ask__session_ask';

/** A prompt that makes the model call session_ask with `input` and reply with the tool's result. */
const askScript = (input: Record<string, unknown>): string => `@tool ${ASK_TOOL} ${JSON.stringify(input)}\n@echo-tool`;

describe('session_ask', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;

  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  /** Sends `text` to a new session named `name` and returns at once. */
  const detached = async (user: string, name: string, text: string): Promise<Ids> => {
    const run = await cli(['prompt', '--user', user, '--new', '--name', name, '--detach', text]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Ids;
  };
  /** A new idle session named `name`, after one finished prompt. */
  const idleSession = async (user: string, name: string): Promise<Ids> => {
    const ids = await detached(user, name, '@reply ready');
    assert.equal((await resultOf(ids)).result?.outcome, 'success');
    return ids;
  };
  const resultOf = async (ids: Ids): Promise<PromptJson> => {
    // Exits 1 when the result is an error (a withdrawn prompt's `cancelled`), and prints it all the same.
    const run = await cli(['wait', '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    assert.ok(run.stdout.trim(), run.stderr);
    return JSON.parse(run.stdout) as PromptJson;
  };
  const asks = async (): Promise<AskJson[]> => {
    const run = await cli(['asks', '--all', '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as AskJson[];
  };
  const askFrom = (sessionId: string, status?: string): Promise<AskJson> =>
    waitFor(`an ask from ${sessionId}${status ? ` that is ${status}` : ''}`, async () => (await asks()).find((ask) => ask.from.sessionId === sessionId && (status === undefined || ask.status === status)));
  const session = async (user: string, id: string): Promise<SessionJson | undefined> => {
    const run = await cli(['sessions', '--user', user, '--json']);
    return (JSON.parse(run.stdout) as SessionJson[]).find((s) => s.id === id);
  };

  before(async () => {
    world = await createWorld('session-ask');
    // max_depth 2 (the default is 3) lets the depth test nest fewer sessions.
    config = writeConfig(world, 'enabled: [session_ask]\nextensions:\n  session_ask:\n    max_depth: 2\n    cross_user:\n      - { from: henry, to: ida }\n');
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test("A asks B, B answers: A's tool result is B's answer, and B's prompt says it came from A", async () => {
    const b = await idleSession('alice', 'B');
    const a = await detached('alice', 'A', askScript({ session: 'B', question: '@reply forty-two' }));
    const answer = await resultOf(a);
    assert.equal(answer.result?.outcome, 'success');
    assert.match(answer.result?.text ?? '', /^forty-two\n\n\[session_ask: answered by session "B", cost \$\d+\.\d{6}\]$/);
    const ask = await askFrom(a.sessionId, 'answered');
    assert.equal(ask.to.sessionId, b.sessionId);
    const question = await resultOf({ sessionId: b.sessionId, promptId: ask.promptId });
    assert.equal(question.fromSession, a.sessionId);
    assert.match(question.text, /^\[session_ask\] Session "A" asks you the question below/);
    assert.equal(question.result?.text, 'forty-two');

    const listed = await cli(['prompt', '--user', 'alice', '--session', a.sessionId, '--json', '@tool mcp__session_ask__session_list {}\n@echo-tool']);
    const result = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; result?: { text: string } })
      .find((event) => event.type === 'result');
    const entries = JSON.parse(result?.result?.text ?? '[]') as Array<{ id: string; name: string; user: string; status: string; cwd: string; lastPrompt?: string; self: boolean }>;
    assert.deepEqual(
      entries.map((entry) => [entry.name, entry.user, entry.self]),
      [
        ['B', 'alice', false],
        ['A', 'alice', true],
      ],
      "only alice's sessions, the caller marked",
    );
    const listedB = entries.find((entry) => entry.id === b.sessionId);
    assert.equal(listedB?.status, 'idle');
    assert.equal(listedB?.cwd, (await session('alice', b.sessionId))?.cwd);
    assert.match(listedB?.lastPrompt ?? '', /^\[session_ask\] Session "A" asks you/);
  });

  test('A asks B while B is waiting on A: the ask fails at once with the chain, and nothing is queued in B', async () => {
    const c = await idleSession('bob', 'C');
    // D asks C; C, answering, asks D back (which waits on C): the deadlock error is C's tool result,
    // C replies with it, and that reply is D's answer.
    const d = await detached('bob', 'D', askScript({ session: 'C', question: askScript({ session: 'D', question: '@reply never asked' }) }));
    const result = await resultOf(d);
    assert.equal(result.result?.outcome, 'success');
    assert.match(result.result?.text ?? '', /^deadlock: "D" is waiting on "C" \("C" → "D" → "C"\), so it could never take up this question/);
    const all = await asks();
    assert.deepEqual(
      all.filter((ask) => ask.from.sessionId === c.sessionId),
      [],
      'the refused question was never put to D',
    );
    assert.equal(all.find((ask) => ask.from.sessionId === d.sessionId)?.status, 'answered');
    assert.equal((await session('bob', d.sessionId))?.counters.prompts, 1, 'D ran only its own prompt');
  });

  test('questions nest at most max_depth deep: the one past it fails, naming the chain', async () => {
    const [, , r] = await Promise.all([idleSession('grace', 'P'), idleSession('grace', 'Q'), idleSession('grace', 'R')]);
    // O asks P, P (answering) asks Q, Q (answering) asks R: a third nested question, past max_depth 2.
    const deepest = askScript({ session: 'R', question: '@reply too deep to be asked' });
    const o = await detached('grace', 'O', askScript({ session: 'P', question: askScript({ session: 'Q', question: deepest }) }));
    const result = await resultOf(o);
    assert.equal(result.result?.outcome, 'success');
    assert.match(result.result?.text ?? '', /^too deep: this would be question 3 of a chain \("O" → "P" → "Q" → "R"\), and at most 2 may be nested/);
    assert.equal((await session('grace', r.sessionId))?.counters.prompts, 1, 'R was never asked');
  });

  test("only the caller's own user's sessions, and another user's only through a configured pair, one way", async () => {
    await idleSession('ida', 'Q');
    const henry = await detached('henry', 'H', askScript({ session: 'ida/Q', question: '@reply hello across users' }));
    assert.match((await resultOf(henry)).result?.text ?? '', /^hello across users\n\n\[session_ask: answered by session "ida\/Q"/);
    const listed = await cli(['prompt', '--user', 'henry', '--session', henry.sessionId, '--json', '@tool mcp__session_ask__session_list {}\n@echo-tool']);
    const listResult = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; result?: { text: string } })
      .find((event) => event.type === 'result');
    const entries = JSON.parse(listResult?.result?.text ?? '[]') as Array<{ ref: string; user: string }>;
    assert.deepEqual(
      entries.map((entry) => [entry.ref, entry.user]),
      [
        ['H', 'henry'],
        ['ida/Q', 'ida'],
      ],
      "henry's own sessions, then those of the user the pair lets him reach",
    );
    const ida = await detached('ida', 'I', askScript({ session: 'henry/H', question: '@reply never asked' }));
    assert.equal((await resultOf(ida)).result?.text, 'no session "henry/H" of user ida; session_list shows the sessions you can ask');
    const mallory = await detached('mallory', 'M', askScript({ session: 'ida/Q', question: '@reply never asked' }));
    assert.equal((await resultOf(mallory)).result?.text, 'no session "ida/Q" of user mallory; session_list shows the sessions you can ask');
    const asked = (await asks()).filter((ask) => ['henry', 'ida', 'mallory'].includes(ask.from.user));
    assert.deepEqual(
      asked.map((ask) => [ask.from.user, ask.to.user, ask.status]),
      [['henry', 'ida', 'answered']],
    );
  });

  test('session_tell queues the message, marked as from the sender, and returns without waiting', async () => {
    const busy = await detached('judy', 'T', '@wait 10000\n@reply busy');
    await waitFor('T to be busy', async () => (await session('judy', busy.sessionId))?.status === 'busy');
    const s = await detached('judy', 'S', `@tool mcp__session_ask__session_tell ${JSON.stringify({ session: 'T', message: '@reply message received' })}\n@echo-tool`);
    assert.equal((await resultOf(s)).result?.text, 'Sent to session "T" (1 prompt ahead of it).');
    const told = await askFrom(s.sessionId, 'sent');
    assert.equal((await session('judy', busy.sessionId))?.status, 'busy', 'the sender did not wait for T');
    const message = await resultOf({ sessionId: busy.sessionId, promptId: told.promptId });
    assert.equal(message.fromSession, s.sessionId);
    assert.match(message.text, /^\[session_ask\] A message from session "S", sent with session_tell; it does not wait for a reply\.\n\n@reply message received$/);
    assert.equal(message.result?.text, 'message received');
  });

  test('a timeout withdraws the question while it is still queued: it never runs', async () => {
    const busy = await detached('carol', 'F', '@wait 6000\n@reply slow work done');
    await waitFor('F to be busy', async () => (await session('carol', busy.sessionId))?.status === 'busy');
    const e = await detached('carol', 'E', askScript({ session: 'F', question: '@reply too late', timeout_s: 2 }));
    const result = await resultOf(e);
    assert.match(result.result?.text ?? '', /^no answer: no answer within 2 s; the question was withdrawn before "F" started on it$/);
    const ask = await askFrom(e.sessionId, 'timeout');
    assert.equal(ask.withdrawn, true);
    const question = await resultOf({ sessionId: busy.sessionId, promptId: ask.promptId });
    assert.equal(question.result?.outcome, 'cancelled');
    assert.equal((await resultOf(busy)).result?.text, 'slow work done');
    const f = await waitFor('F idle', async () => {
      const found = await session('carol', busy.sessionId);
      return found?.status === 'idle' ? found : undefined;
    });
    assert.deepEqual([f.counters.prompts, f.queued], [1, 0], 'the withdrawn question never ran in F');
  });

  test("stopping the asker withdraws its pending question", async () => {
    const busy = await detached('dave', 'H', '@wait 6000\n@reply busy');
    await waitFor('H to be busy', async () => (await session('dave', busy.sessionId))?.status === 'busy');
    const g = await detached('dave', 'G', askScript({ session: 'H', question: '@reply unwanted' }));
    const waiting = await askFrom(g.sessionId, 'waiting');
    const stopped = await cli(['stop', g.sessionId]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await resultOf(g)).result?.outcome, 'stopped');
    const ask = await askFrom(g.sessionId, 'cancelled');
    assert.equal(ask.id, waiting.id);
    assert.equal(ask.withdrawn, true);
    assert.match(ask.reason ?? '', /^the asking turn ended \(stopped\); the question was withdrawn before "H" started on it$/);
    assert.equal((await resultOf({ sessionId: busy.sessionId, promptId: ask.promptId })).result?.outcome, 'cancelled');
  });

  test('a daemon killed while the answer is being written: the asking call gets the stored answer, asked once', async () => {
    const j = await idleSession('erin', 'J');
    const i = await detached('erin', 'I', askScript({ session: 'J', question: '@wait 3000\n@reply kept across the restart' }));
    const ask = await askFrom(i.sessionId, 'waiting');
    await waitFor('J to be answering', async () => (await session('erin', j.sessionId))?.status === 'busy');
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const result = await resultOf(i);
    assert.match(result.result?.text ?? '', /^kept across the restart\n\n\[session_ask: answered by session "J"/);
    const fromI = (await asks()).filter((other) => other.from.sessionId === i.sessionId);
    assert.deepEqual(
      fromI.map((other) => [other.id, other.status]),
      [[ask.id, 'answered']],
    );
    assert.equal((await session('erin', j.sessionId))?.counters.prompts, 2, 'J got the question once');
    const log = fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8');
    assert.match(log, /resuming a tool call after a restart.*"tool":"session_ask"/, 'the CLI came back for the answer and the new daemon ran the call again');
    assert.ok(readEventLog(world).some((event) => event.type === 'result' && event.prompt === ask.promptId));
  });

  test('a daemon down longer than the CLI retries the call: the asking turn is stopped, and the answer reaches it as a prompt', async () => {
    const busy = await detached('frank', 'L', '@wait 6000\n@reply busy');
    await waitFor('L to be busy', async () => (await session('frank', busy.sessionId))?.status === 'busy');
    const k = await detached('frank', 'K', askScript({ session: 'L', question: '@reply stored while nobody waited' }));
    const ask = await askFrom(k.sessionId, 'waiting');
    await daemon.kill();
    // The CLI gives up on a cut call of a tool that is not read-only after some seconds of retries
    // (measured: still retrying after 8 s, given up after 25 s; a read-only tool's after about 2.5 s).
    await new Promise((resolve) => setTimeout(resolve, 25000));
    daemon = await startDaemonProcess(world, ['--config', config]);
    const stopped = await resultOf(k);
    assert.equal(stopped.result?.outcome, 'stopped', JSON.stringify(stopped.result?.text));
    assert.equal((await askFrom(k.sessionId)).status, 'answered', 'the question was answered all the same');
    const followUp = await waitFor('the answer as a prompt of its own', () =>
      readEventLog(world).find((event) => event.type === 'result' && event.session === k.sessionId && event.prompt !== k.promptId),
    );
    const reply = await resultOf({ sessionId: k.sessionId, promptId: String(followUp.prompt) });
    assert.equal(reply.fromSession, busy.sessionId);
    assert.match(reply.text, /^The answer to the question you asked session "L" with session_ask/);
    assert.match(reply.text, /\nQuestion: @reply stored while nobody waited\nAnswer: stored while nobody waited\n/);
    assert.equal((await resultOf({ sessionId: busy.sessionId, promptId: ask.promptId })).result?.text, 'stored while nobody waited');
  });
});

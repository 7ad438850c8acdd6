import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AskBook } from '../../../../extensions/session_ask/ask-book.ts';
import { DeadlockError, DepthLimitError, RequestIdReusedError } from '../../../../extensions/session_ask/ask-errors.ts';
import { AskStore, type Ask } from '../../../../extensions/session_ask/ask-store.ts';
import type { AskOutcome } from '../../../../extensions/session_ask/protocol.ts';
import { FakeSessions, turnResult } from './fake-sessions.ts';

const MINUTE = 60_000;

describe('AskBook', () => {
  let dir: string;
  let sessions: FakeSessions;
  let lateAnswers: Ask[];
  let books: AskBook[];
  // The book's timers do not keep a process alive (in the daemon its socket does).
  let keepAlive: NodeJS.Timeout;
  const open = (): AskBook => {
    const book = new AskBook(new AskStore(dir), sessions, { answeredAfterItsTurn: (ask) => void lateAnswers.push(ask) });
    book.recover();
    books.push(book);
    return book;
  };
  const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
  /** The daemon dies: the asking calls' connections drop, and the book is gone (its timers with it). */
  const crash = (book: AskBook, calls: AbortController[]): void => {
    for (const call of calls) call.abort();
    book.dispose();
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-ask-'));
    sessions = new FakeSessions();
    lateAnswers = [];
    books = [];
    keepAlive = setInterval(() => undefined, 1000);
  });
  afterEach(() => {
    clearInterval(keepAlive);
    for (const book of books) book.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the question is a prompt of the target marked with the asker; its reply is the answer, with the turn's cost", async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B', undefined);
    const asked = book.ask({ requestId: 'request-1', from: a, to: b, text: 'What is 6 x 7?', maxDepth: 3, timeoutMs: MINUTE });
    const [submitted] = sessions.submitted;
    assert.equal(submitted?.fromSession, a.id);
    assert.equal(submitted?.session, b.id);
    assert.match(submitted?.text ?? '', /^\[session_ask\] Session "A" asks you .*\n\nWhat is 6 x 7\?$/s);
    const [ask] = book.list();
    assert.ok(ask);
    book.promptFinished(b.id, ask.promptId, sessions.finish(ask.promptId, turnResult('success', '42', 0.5)));
    assert.deepEqual(await asked, { status: 'answered', answer: '42', costUsd: 0.5, session: '"B"' });
    assert.deepEqual(book.list(), [], 'nothing waits any more');
  });

  test('an ask saved when the daemon died before its prompt was queued is queued at the next start, once', async () => {
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const first = open();
    const asked = first.ask({ requestId: 'request-1', from: a, to: b, text: 'still there?', maxDepth: 3, timeoutMs: MINUTE });
    const [ask] = first.list();
    assert.ok(ask);
    crash(first, []);
    void asked.catch(() => undefined);
    // The daemon died between saving the ask and queueing its prompt: the target never got it.
    sessions.prompts.delete(ask.promptId);
    sessions.submitted.length = 0;
    open();
    open();
    assert.deepEqual(sessions.submitted.map((r) => [r.promptId, r.session]), [[ask.promptId, b.id]]);
    assert.match(sessions.submitted[0]?.text ?? '', /still there\?$/);
  });

  test('a target deleted while the asker waits ends the wait at once, saying so', async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const asked = book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE });
    book.dropDeletedTargets();
    assert.equal(book.list().length, 1, 'nothing changes while the target lives');
    sessions.remove(b.id);
    book.dropDeletedTargets();
    assert.deepEqual(await asked, { status: 'failed', reason: 'session "B" was deleted before it answered' });
  });

  test('a turn of the target that does not succeed is no answer, and says why', async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const asked = book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE });
    const [ask] = book.list();
    assert.ok(ask);
    book.promptFinished(b.id, ask.promptId, sessions.finish(ask.promptId, turnResult('error', 'API error 529')));
    assert.deepEqual(await asked, { status: 'failed', reason: 'session "B" did not answer: its turn ended error: API error 529' });
  });

  test('asking a session that waits on the asker fails at once naming the chain, directly or through others, and asks nothing', () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const c = sessions.add('alice', 'C');
    void book.ask({ requestId: 'request-ab', from: a, to: b, text: 'q', maxDepth: 5, timeoutMs: MINUTE });
    const before = sessions.submitted.length;
    assert.throws(() => book.ask({ requestId: 'request-ba', from: b, to: a, text: 'q', maxDepth: 5, timeoutMs: MINUTE }), (error: unknown) => {
      assert.ok(error instanceof DeadlockError);
      assert.deepEqual(error.chain, ['"B"', '"A"', '"B"']);
      assert.match(error.message, /^deadlock: "A" is waiting on "B" \("B" → "A" → "B"\)/);
      return true;
    });
    void book.ask({ requestId: 'request-bc', from: b, to: c, text: 'q', maxDepth: 5, timeoutMs: MINUTE });
    assert.throws(() => book.ask({ requestId: 'request-ca', from: c, to: a, text: 'q', maxDepth: 5, timeoutMs: MINUTE }), (error: unknown) => {
      assert.ok(error instanceof DeadlockError);
      assert.deepEqual(error.chain, ['"C"', '"A"', '"B"', '"C"']);
      return true;
    });
    assert.throws(() => book.ask({ requestId: 'request-cc', from: c, to: c, text: 'q', maxDepth: 5, timeoutMs: MINUTE }), /^DeadlockError: deadlock: a session cannot ask itself/);
    assert.equal(sessions.submitted.length, before + 1, 'only the question B → C was put into a queue');
  });

  test('a session no one waits on may be asked even when it is busy asking someone else', () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const c = sessions.add('alice', 'C');
    void book.ask({ requestId: 'request-ab', from: a, to: b, text: 'q', maxDepth: 5, timeoutMs: MINUTE });
    assert.doesNotThrow(() => void book.ask({ requestId: 'request-ca', from: c, to: a, text: 'q', maxDepth: 5, timeoutMs: MINUTE }));
  });

  test('questions nest at most max_depth deep, counting each session that asked on', () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    let b = sessions.add('alice', 'B');
    let c = sessions.add('alice', 'C');
    const d = sessions.add('alice', 'D');
    void book.ask({ requestId: 'request-ab', from: a, to: b, text: 'q', maxDepth: 2, timeoutMs: MINUTE });
    b = sessions.working(b, book.list()[0]?.promptId ?? '');
    void book.ask({ requestId: 'request-bc', from: b, to: c, text: 'q', maxDepth: 2, timeoutMs: MINUTE });
    assert.deepEqual(
      book.list().map((ask) => ask.depth),
      [1, 2],
    );
    c = sessions.working(c, book.list()[1]?.promptId ?? '');
    assert.throws(() => book.ask({ requestId: 'request-cd', from: c, to: d, text: 'q', maxDepth: 2, timeoutMs: MINUTE }), (error: unknown) => {
      assert.ok(error instanceof DepthLimitError);
      assert.deepEqual(error.chain, ['"A"', '"B"', '"C"', '"D"']);
      assert.match(error.message, /^too deep: this would be question 3 of a chain \("A" → "B" → "C" → "D"\), and at most 2 may be nested/);
      return true;
    });
  });

  test('asking again with the same request id waits on the same question, and after a restart gets the stored answer', async () => {
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const first = open();
    const request = { requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE };
    const controller = new AbortController();
    const cut = first.ask(request, controller.signal);
    controller.abort();
    assert.equal((await cut).status, 'cancelled', 'the call went away');
    const again = first.ask(request);
    assert.equal(sessions.submitted.length, 1, 'not asked twice');
    first.dispose();
    // The daemon restarts; the answer came meanwhile.
    const [ask] = first.list();
    assert.ok(ask);
    sessions.finish(ask.promptId, turnResult('success', 'stored'));
    const second = open();
    assert.deepEqual(await second.ask(request), { status: 'answered', answer: 'stored', costUsd: 0.25, session: '"B"' });
    assert.equal(sessions.submitted.length, 1);
    assert.equal((await again).status, 'cancelled', 'the first book ended its calls when it stopped');
  });

  test('a timeout withdraws a question that has not started', async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const outcome = await book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: 30 });
    assert.deepEqual(outcome, { status: 'timeout', reason: 'no answer within 0 s; the question was withdrawn before "B" started on it' });
    const [ask] = book.list({ all: true });
    assert.equal(ask?.withdrawn, true);
    assert.equal(sessions.getPrompt(b.id, ask?.promptId ?? '').result?.outcome, 'cancelled');
  });

  test('a timeout leaves a question that started: the call gives up, the answer is kept with the ask', async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const asked = book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: 30 });
    const promptId = book.list()[0]?.promptId ?? '';
    sessions.start(promptId);
    assert.deepEqual(await asked, { status: 'timeout', reason: 'no answer within 0 s; "B" had already started on the question; its answer will not reach this call' });
    book.promptFinished(b.id, promptId, sessions.finish(promptId, turnResult('success', 'late')));
    const [ask] = book.list({ all: true });
    assert.deepEqual([ask?.status, ask?.withdrawn, ask?.answer], ['timeout', false, 'late']);
  });

  test("the end of the asking turn withdraws its pending question; the withdrawal's own result is not taken for an answer", async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const asked = book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE });
    book.promptFinished(a.id, a.currentPromptId, turnResult('stopped', ''));
    assert.deepEqual(await asked, { status: 'cancelled', reason: 'the asking turn ended (stopped); the question was withdrawn before "B" started on it' });
    const [ask] = book.list({ all: true });
    const withdrawn = sessions.getPrompt(b.id, ask?.promptId ?? '');
    book.promptFinished(b.id, withdrawn.id, withdrawn.result ?? turnResult('cancelled', ''));
    await settled();
    assert.equal(book.list({ all: true })[0]?.status, 'cancelled');
  });

  test('an asking call lost in a restart: the turn ending keeps the question, whose answer goes to the asker as a prompt', async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    void book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE });
    book.keepAfterTurn(a.id, a.currentPromptId);
    book.promptFinished(a.id, a.currentPromptId, turnResult('stopped', ''));
    await settled();
    const [ask] = book.list();
    assert.equal(ask?.status, 'waiting');
    assert.equal(book.waitingOn(a.id), undefined, 'A no longer waits: B may ask A');
    assert.doesNotThrow(() => void book.ask({ requestId: 'request-2', from: b, to: a, text: 'q', maxDepth: 3, timeoutMs: MINUTE }));
    book.promptFinished(b.id, ask?.promptId, sessions.finish(ask?.promptId ?? '', turnResult('success', 'late but here')));
    assert.deepEqual(
      lateAnswers.map((late) => late.answer),
      ['late but here'],
    );
  });

  test('an answer that came while the daemon was down, to a call that was then lost, goes to the asker as a prompt, once', async () => {
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const first = open();
    const call = new AbortController();
    void first.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE }, call.signal);
    crash(first, [call]);
    const [ask] = first.list();
    sessions.finish(ask?.promptId ?? '', turnResult('success', 'answered while down'));
    const second = open();
    assert.equal(second.list({ all: true })[0]?.status, 'answered');
    assert.equal(lateAnswers.length, 0, 'the call may still come back for it');
    second.keepAfterTurn(a.id, a.currentPromptId);
    second.keepAfterTurn(a.id, a.currentPromptId);
    assert.deepEqual(
      lateAnswers.map((late) => late.answer),
      ['answered while down'],
    );
  });

  test('an answer a call got is not sent again when that turn is lost afterwards', async () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const asked = book.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE });
    const promptId = book.list()[0]?.promptId ?? '';
    book.promptFinished(b.id, promptId, sessions.finish(promptId, turnResult('success', 'got it')));
    assert.equal((await asked).status, 'answered');
    book.keepAfterTurn(a.id, a.currentPromptId);
    assert.deepEqual(lateAnswers, []);
  });

  test('the extension stopping ends the waiting call, telling it how to wait for the same question again', async () => {
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const first = open();
    const request = { requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: MINUTE };
    const asked = first.ask(request);
    first.dispose();
    assert.deepEqual(await asked, {
      status: 'cancelled',
      reason: 'the session_ask extension stopped; ask again with request_id "request-1" to wait for the same question instead of asking twice',
    });
    const second = open();
    const again = second.ask(request);
    assert.equal(sessions.submitted.length, 1, 'not asked twice');
    const promptId = second.list()[0]?.promptId ?? '';
    second.promptFinished(b.id, promptId, sessions.finish(promptId, turnResult('success', 'after the reload')));
    assert.equal((await again).status, 'answered');
  });

  test('tell queues a message without waiting, once per request id; an ask may not reuse its id', () => {
    const book = open();
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const request = { requestId: 'request-1', from: a, to: b, text: 'FYI: the build is green', maxDepth: 3 };
    const told = book.tell(request);
    assert.equal(told.ask.status, 'sent');
    assert.match(sessions.submitted[0]?.text ?? '', /^\[session_ask\] A message from session "A", sent with session_tell/);
    assert.equal(book.tell(request).ask.id, told.ask.id);
    assert.equal(sessions.submitted.length, 1);
    assert.equal(book.waitingOn(a.id), undefined);
    assert.throws(() => book.ask({ ...request, timeoutMs: MINUTE }), RequestIdReusedError);
  });

  test('asks are on disk: a new book finds the waiting one and its timer', async () => {
    const a = sessions.add('alice', 'A');
    const b = sessions.add('alice', 'B');
    const first = open();
    const call = new AbortController();
    void first.ask({ requestId: 'request-1', from: a, to: b, text: 'q', maxDepth: 3, timeoutMs: 200 }, call.signal);
    crash(first, [call]);
    const second = open();
    assert.equal(second.list()[0]?.status, 'waiting');
    assert.equal(second.waitingOn(a.id)?.name, 'B');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(second.list({ all: true })[0]?.status, 'timeout');
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { QuestionBook } from '../../../../extensions/ask_user/question-book.ts';
import { QuestionStore, type Question } from '../../../../extensions/ask_user/question-store.ts';

describe('a question whose asking call was lost in a restart', () => {
  let dir: string;
  let book: QuestionBook;
  let late: Question[];
  const ask = (requestId: string, promptId: string): void => {
    void book.ask({ requestId, sessionId: 's_1', promptId, user: 'alice', question: `${requestId}?`, options: [], timeoutMs: 60_000 });
  };
  const open = (requestId: string): Question => {
    const found = book.list({ includeClosed: true }).find((q) => q.requestId === requestId);
    assert.ok(found, requestId);
    return found;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'question-book-'));
    late = [];
    book = new QuestionBook(new QuestionStore(dir), { opened: () => undefined, closed: () => undefined, answeredAfterItsTurn: (q) => late.push(q) });
  });
  afterEach(() => {
    book.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('outlives its turn, and its answer is handed on as a late answer', () => {
    ask('lost', 'p_1');
    book.keepAfterTurn('s_1', 'p_1');
    book.cancelTurn('s_1', 'p_1', 'the turn ended (stopped)');
    assert.equal(open('lost').status, 'open');
    const answered = book.answer(open('lost').id, 'teal', 'alice', 'alice');
    assert.equal(answered.ok, true);
    assert.deepEqual(late.map((q) => [q.question, q.answer]), [['lost?', 'teal']]);
    // The prompt's id is fixed before the answer: handing it on again after a crash finds the same prompt.
    assert.match(late[0]?.followUpPromptId ?? '', /^p_[a-z0-9]+$/);
    assert.deepEqual(book.answeredAfterTurns().map((q) => q.followUpPromptId), [late[0]?.followUpPromptId]);
  });

  test('is kept across a restart of the book as well', () => {
    ask('lost', 'p_1');
    book.keepAfterTurn('s_1', 'p_1');
    book.dispose();
    book = new QuestionBook(new QuestionStore(dir), { opened: () => undefined, closed: () => undefined, answeredAfterItsTurn: (q) => late.push(q) });
    book.cancelTurn('s_1', 'p_1', 'the turn ended (stopped)');
    book.answer(open('lost').id, 'teal', 'alice');
    assert.equal(late.length, 1);
  });

  test('the other turns\' questions are cancelled when their turn ends, and answering them is too late', () => {
    ask('lost', 'p_1');
    ask('other', 'p_2');
    book.keepAfterTurn('s_1', 'p_1');
    book.cancelTurn('s_1', 'p_2', 'the turn ended (stopped)');
    assert.equal(open('other').status, 'cancelled');
    const refused = book.answer(open('other').id, 'teal', 'alice');
    assert.equal(refused.ok, false);
    assert.deepEqual(late, []);
  });

  test('an ordinary question answered in its turn is not handed on', () => {
    ask('plain', 'p_1');
    book.answer(open('plain').id, 'yes', 'alice');
    assert.deepEqual(late, []);
  });
});

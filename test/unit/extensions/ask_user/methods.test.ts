import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import askUserExtension from '../../../../extensions/ask_user/extension.ts';
import type { AskOutcome } from '../../../../extensions/ask_user/protocol.ts';
import type { Question } from '../../../../extensions/ask_user/question-store.ts';
import { fakeSession, startExtension, type ExtensionFixture, invalidField } from '../extension-fixture.ts';


describe('ask_user methods refuse what they cannot save, before saving anything', () => {
  let askUser: ExtensionFixture<unknown>;
  const alice = fakeSession('alice');
  const files = (): string[] => fs.readdirSync(path.join(askUser.dataDir, 'questions')).sort();

  before(async () => {
    askUser = await startExtension(askUserExtension());
  });
  after(async () => {
    await askUser.stop();
  });

  test('a wait longer than 366 days is refused naming timeoutSeconds, and no question is saved', async () => {
    for (const timeoutSeconds of [1e12, 0]) {
      // An ask that was let through would wait for an answer: give up on it after a second.
      let timer: NodeJS.Timeout | undefined;
      const waiting = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timeoutSeconds ${timeoutSeconds} was accepted: the question is waiting`)), 1000);
      });
      const asked = askUser.call('ask_user.ask', { requestId: `request-${timeoutSeconds}`, question: 'Deploy?', timeoutSeconds }, alice);
      await assert.rejects(Promise.race([asked, waiting]).finally(() => clearTimeout(timer)), invalidField('timeoutSeconds'));
    }
    assert.deepEqual(files(), []);
  });

  test('an answer naming a user the daemon could not have is refused naming user; the question stays open', async () => {
    const asked = askUser.call<AskOutcome>('ask_user.ask', { requestId: 'request-2', question: 'Deploy?' }, alice);
    const [question] = await askUser.call<Question[]>('ask_user.list', {});
    assert.ok(question);
    const before = fs.readFileSync(path.join(askUser.dataDir, 'questions', `${question.id}.json`), 'utf8');
    await assert.rejects(askUser.call('ask_user.answer', { id: question.id, text: 'yes', user: 'x'.repeat(129) }), invalidField('user'));
    await assert.rejects(askUser.call('ask_user.answer', { id: question.id, text: 'yes', user: 'al\nice' }), invalidField('user', /newline/));
    await assert.rejects(askUser.call('ask_user.answer', { id: question.id, text: 'y'.repeat(4001) }), invalidField('text'));
    assert.equal(fs.readFileSync(path.join(askUser.dataDir, 'questions', `${question.id}.json`), 'utf8'), before);
    await askUser.call('ask_user.answer', { id: question.id, text: 'yes', user: 'alice' });
    assert.deepEqual(await asked, { status: 'answered', answer: 'yes', answeredBy: 'alice' });
  });
});

describe('ask_user configuration', () => {
  test('timeout and max_timeout are from 1s to 366 days', () => {
    const parse = (config: Record<string, unknown>) => askUserExtension().configSchema?.safeParse(config);
    assert.equal(parse({ timeout: '1s', max_timeout: '366d' })?.success, true);
    for (const config of [{ timeout: 0 }, { max_timeout: '367d' }, { max_timeout: '1000000000d' }]) assert.equal(parse(config)?.success, false, JSON.stringify(config));
  });
});

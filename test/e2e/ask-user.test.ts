/**
 * ask_user end to end: the real claude CLI calls the ask_user tool, the question waits on disk, the
 * test answers through the CLI, and the answer comes back as the tool result — also across a daemon
 * killed with SIGKILL while the question is pending.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

interface QuestionJson {
  id: string;
  status: string;
  question: string;
  user: string;
  options: string[];
}

interface PromptJson {
  result?: { text: string; outcome: string };
}

describe('ask_user', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;

  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const ask = async (user: string, input: Record<string, unknown>): Promise<{ sessionId: string; promptId: string }> => {
    const run = await cli(['prompt', '--user', user, '--detach', `@tool mcp__ask_user__ask_user ${JSON.stringify(input)}\n@echo-tool`]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as { sessionId: string; promptId: string };
  };
  const openQuestion = async (text: string): Promise<QuestionJson> => {
    try {
      return await waitFor(`the question "${text}"`, async () => {
        const run = await cli(['questions', '--json']);
        return (JSON.parse(run.stdout || '[]') as QuestionJson[]).find((q) => q.question === text && q.status === 'open');
      });
    } catch (error) {
      const all = await cli(['questions', '--all', '--json']);
      const events = readEventLog(world).slice(-25).map((e) => JSON.stringify(e)).join('\n');
      throw new Error(`${(error as Error).message}\nquestions: ${all.stdout} ${all.stderr}\nevents:\n${events}`);
    }
  };
  const resultOf = async (ids: { sessionId: string; promptId: string }): Promise<PromptJson> => {
    const run = await cli(['wait', '--session', ids.sessionId, '--prompt', ids.promptId, '--json']);
    return JSON.parse(run.stdout) as PromptJson;
  };

  before(async () => {
    world = await createWorld('ask');
    config = writeConfig(world, 'enabled: [ask_user]\n');
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('the model asks, the terminal answers, the answer is the tool result; late and foreign answers are refused', async () => {
    const ids = await ask('alice', { question: 'Which color?', options: ['red', 'blue'] });
    const question = await openQuestion('Which color?');
    assert.equal(question.user, 'alice');
    assert.deepEqual(question.options, ['red', 'blue']);
    const foreign = await cli(['answer', question.id, 'red', '--user', 'mallory']);
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /no question .* for user mallory/);
    const answered = await cli(['answer', question.id, 'blue']);
    assert.equal(answered.code, 0, answered.stderr);
    const result = await resultOf(ids);
    assert.equal(result.result?.text, 'blue');
    const late = await cli(['answer', question.id, 'red']);
    assert.notEqual(late.code, 0);
    assert.match(late.stderr, /too late: question .* was already answered/);
  });

  test('the built-in AskUserQuestion tool is gone while ask_user is on', async () => {
    const run = await cli(['prompt', '--user', 'alice', '--json', '@reply hi']);
    const init = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; tools?: string[] })
      .find((e) => e.type === 'init');
    assert.ok(init?.tools?.includes('mcp__ask_user__ask_user'));
    assert.ok(!init?.tools?.includes('AskUserQuestion'));
  });

  test('a daemon killed while the question is pending: the answer still reaches the waiting turn', async () => {
    const ids = await ask('bob', { question: 'Deploy now?' });
    const question = await openQuestion('Deploy now?');
    await daemon.kill();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const stillOpen = await openQuestion('Deploy now?');
    assert.equal(stillOpen.id, question.id);
    const answered = await cli(['answer', question.id, 'yes, go']);
    assert.equal(answered.code, 0, answered.stderr);
    assert.equal((await resultOf(ids)).result?.text, 'yes, go');
    const log = fs.readFileSync(path.join(world.stateDir, 'daemon.log'), 'utf8');
    assert.match(log, /resuming a tool call after a restart.*"tool":"ask_user"/, 'the CLI came back for the answer and the new daemon re-ran the call');
  });

  test('a daemon down longer than the CLI retries the call: the turn is stopped, the question stays, its answer comes as a prompt', async () => {
    const ids = await ask('erin', { question: 'Which branch?' });
    const question = await openQuestion('Which branch?');
    await daemon.kill();
    // The CLI gives up on a cut MCP call after about 2.5 s of retries.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    daemon = await startDaemonProcess(world, ['--config', config]);
    assert.equal((await resultOf(ids)).result?.outcome, 'stopped');
    assert.ok(readEventLog(world).some((event) => event.type === 'tool_call_abandoned' && event.session === ids.sessionId && event.tool === 'ask_user'));
    const stillOpen = await openQuestion('Which branch?');
    assert.equal(stillOpen.id, question.id);
    const answered = await cli(['answer', question.id, 'release-7']);
    assert.equal(answered.code, 0, answered.stderr);
    const followUp = await waitFor('the answer as a prompt of its own', () =>
      readEventLog(world).find((event) => event.type === 'result' && event.session === ids.sessionId && event.prompt !== ids.promptId),
    );
    const reply = await resultOf({ sessionId: ids.sessionId, promptId: String(followUp.prompt) });
    assert.equal(reply.result?.outcome, 'success');
    assert.match(reply.result?.text ?? '', /Question: Which branch\?\nAnswer: release-7/);
  });

  test('a question times out', async () => {
    const ids = await ask('carol', { question: 'Anyone there?', timeout: 1 });
    const result = await resultOf(ids);
    assert.match(result.result?.text ?? '', /no answer: no answer within 1 s/);
    const all = JSON.parse((await cli(['questions', '--all', '--json'])).stdout) as QuestionJson[];
    assert.equal(all.find((q) => q.question === 'Anyone there?')?.status, 'timeout');
  });

  test('stop cancels the pending question', async () => {
    const ids = await ask('dave', { question: 'Shall I continue?' });
    const question = await openQuestion('Shall I continue?');
    const stopped = await cli(['stop', ids.sessionId]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await resultOf(ids)).result?.outcome, 'stopped');
    const all = JSON.parse((await cli(['questions', '--all', '--json'])).stdout) as QuestionJson[];
    assert.equal(all.find((q) => q.id === question.id)?.status, 'cancelled');
    const late = await cli(['answer', question.id, 'yes']);
    assert.match(late.stderr, /too late: .* was cancelled/);
  });
});

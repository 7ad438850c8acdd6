import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PendingInterrupt } from '../../../../core/sessions/session-types.ts';
import { outcomeOf, resultFromCli, resultOfKilledTurn, resultOfLostProcess, statusAfter, type CliResult } from '../../../../core/sessions/turn-results.ts';

const stop: PendingInterrupt = { requestId: 'int_1', reason: 'stop', sentAt: '2025-01-01T00:00:00.000Z' };
const timeout: PendingInterrupt = { requestId: 'int_2', reason: 'timeout', sentAt: '2025-01-01T00:00:00.000Z' };

function cliResult(overrides: Partial<CliResult> = {}): CliResult {
  return {
    type: 'cli_result',
    subtype: 'success',
    isError: false,
    text: 'the answer',
    totalCostUsd: 0.5,
    durationMs: 12,
    numTurns: 2,
    usage: { inputTokens: 3, outputTokens: 4, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
    ...overrides,
  };
}

test('a turn that completed keeps its own outcome, interrupt or not', () => {
  assert.equal(outcomeOf('success', true, undefined), 'success');
  assert.equal(outcomeOf('success', true, stop), 'success');
  assert.equal(outcomeOf('error', true, timeout), 'error');
});

test('a turn cut short while an interrupt was pending was stopped, or timed out when the timeout sent it', () => {
  assert.equal(outcomeOf('error', false, stop), 'stopped');
  assert.equal(outcomeOf('success', false, stop), 'stopped');
  assert.equal(outcomeOf('died', false, stop), 'stopped');
  assert.equal(outcomeOf('error', false, timeout), 'timeout');
  assert.equal(outcomeOf('died', false, timeout), 'timeout');
});

test('a turn cut short without an interrupt keeps its own outcome', () => {
  assert.equal(outcomeOf('error', false, undefined), 'error');
  assert.equal(outcomeOf('died', false, undefined), 'died');
});

test('a CLI success that raced an interrupt is still a success', () => {
  const result = resultFromCli(cliResult(), stop, 0);
  assert.equal(result.outcome, 'success');
  assert.equal(result.isError, false);
  assert.equal(result.text, 'the answer');
});

test('a CLI error result after a stop is stopped, after a timeout timed out, with a text when the CLI gave none', () => {
  const interrupted = cliResult({ subtype: 'error_during_execution', isError: true, text: '' });
  const stopped = resultFromCli(interrupted, stop, 0);
  assert.deepEqual([stopped.outcome, stopped.isError, stopped.text, stopped.subtype], ['stopped', true, 'stopped', 'error_during_execution']);
  const timedOut = resultFromCli(interrupted, timeout, 0);
  assert.deepEqual([timedOut.outcome, timedOut.isError, timedOut.text], ['timeout', true, 'timed out']);
  assert.equal(resultFromCli({ ...interrupted, text: 'cut off mid-sentence' }, stop, 0).text, 'cut off mid-sentence');
});

test('a CLI error without an interrupt is an error, even when the CLI calls its subtype success', () => {
  assert.equal(resultFromCli(cliResult({ subtype: 'error_during_execution', isError: true, text: 'API error' }), undefined, 0).outcome, 'error');
  assert.equal(resultFromCli(cliResult({ isError: true, text: 'API error' }), undefined, 0).outcome, 'error');
  assert.equal(resultFromCli(cliResult({ isError: true, text: 'API error' }), stop, 0).outcome, 'error', 'it completed: the interrupt did not cut it short');
  assert.equal(resultFromCli(cliResult({ subtype: 'error_max_turns', isError: false, text: '' }), undefined, 0).text, '');
});

test('a turn costs the growth of the process\'s running total, never less than nothing', () => {
  assert.equal(resultFromCli(cliResult({ totalCostUsd: 0.75 }), undefined, 0.5).costUsd, 0.25);
  assert.equal(resultFromCli(cliResult({ totalCostUsd: 0.1 }), undefined, 0.5).costUsd, 0);
  assert.deepEqual(resultFromCli(cliResult({ structuredOutput: { run: true } }), undefined, 0).structuredOutput, { run: true });
  assert.equal('structuredOutput' in resultFromCli(cliResult(), undefined, 0), false);
});

test('a process lost mid-turn: died, unless an interrupt was pending', () => {
  assert.deepEqual([resultOfLostProcess(undefined, 'tmux gone').outcome, resultOfLostProcess(undefined, 'tmux gone').text], ['died', 'tmux gone']);
  assert.equal(resultOfLostProcess(stop, 'exited').outcome, 'stopped');
  assert.equal(resultOfLostProcess(timeout, 'exited').outcome, 'timeout');
  assert.equal(resultOfLostProcess(undefined, 'x').costUsd, 0);
});

test('a turn killed after the grace period says so', () => {
  assert.deepEqual([resultOfKilledTurn(stop).outcome, resultOfKilledTurn(stop).text], ['stopped', 'stopped; the process did not end the turn and was killed']);
  assert.deepEqual([resultOfKilledTurn(timeout).outcome, resultOfKilledTurn(timeout).text], ['timeout', 'timed out; the process did not end the turn and was killed']);
  assert.equal(resultOfKilledTurn(stop).isError, true);
});

test('the session status after each outcome', () => {
  assert.deepEqual(
    (['success', 'error', 'cancelled', 'stopped', 'timeout', 'died'] as const).map(statusAfter),
    ['idle', 'idle', 'idle', 'stopped', 'stopped', 'dead'],
  );
});

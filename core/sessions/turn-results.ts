import type { StreamEvent, TurnOutcome, TurnResult } from './events.ts';
import type { PendingInterrupt, SessionStatus } from './session-types.ts';

/** The CLI's `result` line, as parsed from the stream. */
export type CliResult = Extract<StreamEvent, { type: 'cli_result' }>;

/** How a turn's outcome reads in its text when the CLI gave none. */
const OUTCOME_WORDS: Partial<Record<TurnOutcome, string>> = { stopped: 'stopped', timeout: 'timed out' };

/**
 * The one rule for interrupts: a turn cut short (it did not run to completion) while an interrupt was
 * pending was stopped, or timed out when the prompt timeout sent the interrupt. Any other turn keeps
 * the outcome it has on its own.
 */
export function outcomeOf(own: TurnOutcome, completed: boolean, interrupt: PendingInterrupt | undefined): TurnOutcome {
  if (!interrupt || completed) return own;
  return interrupt.reason === 'timeout' ? 'timeout' : 'stopped';
}

/**
 * A turn's result from the CLI's result line. The CLI reports a running cost total per process, so the
 * turn's cost is the growth since `costBase` (the total at the process's previous result).
 */
export function resultFromCli(event: CliResult, interrupt: PendingInterrupt | undefined, costBase: number, contextTokens?: number): TurnResult {
  const outcome = outcomeOf(event.isError ? 'error' : 'success', event.subtype === 'success', interrupt);
  return {
    outcome,
    isError: outcome !== 'success',
    text: event.text || (OUTCOME_WORDS[outcome] ?? ''),
    subtype: event.subtype,
    costUsd: Math.max(0, event.totalCostUsd - costBase),
    durationMs: event.durationMs,
    numTurns: event.numTurns,
    usage: event.usage,
    ...(event.structuredOutput !== undefined ? { structuredOutput: event.structuredOutput } : {}),
    ...(event.contextWindow && contextTokens !== undefined ? { context: { usedTokens: contextTokens, windowTokens: event.contextWindow } } : {}),
  };
}

/** The result of a turn whose process ended before the CLI reported one, for `reason`. */
export function resultOfLostProcess(interrupt: PendingInterrupt | undefined, reason: string): TurnResult {
  return syntheticResult(outcomeOf('died', false, interrupt), reason);
}

/** The result of a turn whose process was killed because it did not honour the interrupt in time. */
export function resultOfKilledTurn(interrupt: PendingInterrupt): TurnResult {
  const outcome = outcomeOf('died', false, interrupt);
  return syntheticResult(outcome, `${OUTCOME_WORDS[outcome] ?? outcome}; the process did not end the turn and was killed`);
}

/** A result the engine makes up for a turn or prompt the CLI never reported on. */
export function syntheticResult(outcome: TurnOutcome, text: string): TurnResult {
  return {
    outcome,
    isError: outcome !== 'success',
    text,
    subtype: undefined,
    costUsd: 0,
    durationMs: 0,
    numTurns: 0,
    usage: { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
  };
}

/** The status a session has after a turn with this outcome. */
export function statusAfter(outcome: TurnOutcome): SessionStatus {
  if (outcome === 'stopped' || outcome === 'timeout') return 'stopped';
  return outcome === 'died' ? 'dead' : 'idle';
}

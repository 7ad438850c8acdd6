import fs from 'node:fs';
import type { Delivery } from './delivery.ts';
import type { StreamEvent, TurnResult } from './events.ts';
import type { EventLog } from './event-log.ts';
import { resultFrontends } from './frontends.ts';
import type { SessionRuntime } from './session-runtime.ts';
import type { SessionStore } from './session-store.ts';
import type { PromptRecord } from './session-types.ts';
import { MalformedLineError, parseStreamLine } from './claude/stream-parser.ts';
import { resultFromCli, statusAfter, syntheticResult, type CliResult } from './turn-results.ts';
import type { Logger } from '../util/log.ts';

export interface TurnTrackerOptions {
  readonly store: SessionStore;
  readonly delivery: Delivery;
  readonly log: Logger;
  readonly eventLog: EventLog;
  /** Starts the session's next prompt once it is free. */
  readonly schedulePump: (rt: SessionRuntime) => void;
  /** The session's process has written its exit marker. */
  readonly onProcessExited: (rt: SessionRuntime) => void;
  /** The session's process asks whether a tool call may run, or no longer waits for that answer. */
  readonly onPermission?: (rt: SessionRuntime, event: Extract<StreamEvent, { type: 'permission_request' | 'control_cancel' }>) => void;
}

/**
 * Follows a session's stream: its lines become events of the running turn, its result line ends the
 * turn, and every prompt's result is recorded and handed over exactly once.
 */
export class TurnTracker {
  private watchWarned = false;

  constructor(private readonly options: TurnTrackerOptions) {}

  /** Reads the session's stream from `offset` on, now and whenever it grows. */
  follow(rt: SessionRuntime, offset: number): void {
    const watchError = rt.follow(
      offset,
      (line, endOffset) => this.handleLine(rt, line, endOffset),
      () => this.readStream(rt),
      (error, endOffset) => this.lineFailed(rt, endOffset, error),
    );
    if (watchError && !this.watchWarned) {
      this.watchWarned = true;
      this.options.log.warn(
        `cannot watch session files (${watchError.message}): streams are read every poll (2 s) instead of as they are written; ` +
          'if it says EMFILE or ENOSPC, raise fs.inotify.max_user_instances / max_user_watches (sysctl)',
      );
    }
  }

  /** Takes whatever the stream holds now, and notices when the process has exited. */
  readStream(rt: SessionRuntime): void {
    try {
      rt.tail?.readAvailable();
    } catch (error) {
      this.options.log.error('reading the stream failed', { session: rt.state.id, error });
    }
    this.persistDeliveredOffset(rt);
    if (rt.state.process && fs.existsSync(rt.files.exit)) this.options.onProcessExited(rt);
  }

  persistDeliveredOffset(rt: SessionRuntime): void {
    if (!rt.tail || rt.tail.offset === rt.persistedOffset) return;
    this.options.store.writeDeliveredOffset(rt.state.id, rt.tail.offset);
    rt.persistedOffset = rt.tail.offset;
  }

  /**
   * Records the running turn's result and frees the session for its next prompt. The result is on disk
   * before the session lets go of the turn: a daemon killed in between finds the prompt done at its
   * next start (and finishes the turn without recording it again), never a prompt left running.
   */
  finishTurn(rt: SessionRuntime, result: TurnResult): void {
    const current = rt.state.current;
    if (!current) return;
    const prompt = this.options.store.loadPrompt(rt.state.id, current.promptId);
    const done = prompt && prompt.status !== 'done' ? this.saveResult(rt, prompt, result) : undefined;
    // Handed over at once: a delivery callback runs soon after, the shorter the gap the less a kill can take.
    if (done) this.announce(rt, done);
    // An interrupt the CLI has not answered yet must be answered before the next prompt goes in, so no
    // late answer lands in that turn; without a process there is nobody left to answer it.
    const interruptPending = current.interrupt && !rt.turn?.interruptAnswered && rt.state.process ? [current.interrupt.requestId] : [];
    rt.clearTimer('timeout');
    if (interruptPending.length === 0) rt.clearTimer('grace');
    rt.turn = undefined;
    rt.update({
      current: undefined,
      awaitingControl: [...(rt.state.awaitingControl ?? []), ...interruptPending],
      status: rt.state.status === 'dead' ? 'dead' : statusAfter(result.outcome),
      lastActiveAt: new Date().toISOString(),
      counters: {
        prompts: rt.state.counters.prompts,
        costUsd: rt.state.counters.costUsd + result.costUsd,
        turns: rt.state.counters.turns + result.numTurns,
      },
    });
    this.persistDeliveredOffset(rt);
    this.options.schedulePump(rt);
  }

  /**
   * Persists a prompt's result, then hands it over: exactly once, since `delivered` is on disk first, and
   * to the session's frontend until it acknowledges it (`frontends`, `deliveredTo`).
   */
  completePrompt(rt: SessionRuntime, prompt: PromptRecord, raw: TurnResult): void {
    this.announce(rt, this.saveResult(rt, prompt, raw));
  }

  private saveResult(rt: SessionRuntime, prompt: PromptRecord, raw: TurnResult): PromptRecord {
    const { delivery } = this.options;
    const result = delivery.redact({ type: 'result', result: raw, sessionId: rt.state.id, user: rt.state.user, promptId: prompt.id }).result;
    const delivered = delivery.takesResults || prompt.options.silent === true;
    const frontends = prompt.options.silent ? [] : resultFrontends(rt.state.labels);
    const done: PromptRecord = { ...prompt, status: 'done', finishedAt: new Date().toISOString(), result, delivered, ...(frontends.length > 0 ? { frontends, deliveredTo: [] } : {}) };
    this.options.store.savePrompt(done);
    rt.lastFinishedPromptId = prompt.id;
    return done;
  }

  private announce(rt: SessionRuntime, done: PromptRecord): void {
    const result = done.result;
    if (!result) return;
    this.options.eventLog.record('result', {
      session: rt.state.id,
      user: rt.state.user,
      prompt: done.id,
      outcome: result.outcome,
      cost_usd: result.costUsd,
      duration_ms: result.durationMs,
      turns: result.numTurns,
    });
    this.options.delivery.emitResult(rt.state, done);
  }

  /** Completes every queued prompt as cancelled; returns how many there were. */
  cancelQueued(rt: SessionRuntime): number {
    const cancelled = rt.queue.splice(0);
    for (const prompt of cancelled) this.completePrompt(rt, prompt, syntheticResult('cancelled', 'cancelled before it started'));
    return cancelled.length;
  }

  private handleLine(rt: SessionRuntime, line: string, endOffset: number): void {
    let events: StreamEvent[];
    try {
      events = parseStreamLine(line);
    } catch (error) {
      if (!(error instanceof MalformedLineError)) throw error;
      this.options.log.warn(error.message, { session: rt.state.id });
      this.options.eventLog.record('malformed_line', { session: rt.state.id, offset: endOffset });
      return;
    }
    const current = rt.state.current;
    const inTurn = current !== undefined && endOffset > current.streamOffset;
    for (const event of events) {
      try {
        if (event.type === 'control_response') {
          this.onControlResponse(rt, event.requestId);
        } else if (event.type === 'permission_request' || event.type === 'control_cancel') {
          this.options.onPermission?.(rt, event);
        } else if (event.type === 'cli_result') {
          if (inTurn) this.finishTurn(rt, this.turnResult(rt, event));
        } else if (event.type === 'context_used') {
          if (inTurn && rt.turn) rt.turn.contextTokens = event.tokens;
        } else if (inTurn) {
          if (event.type === 'init' && rt.turn) rt.turn.sawInit = true;
          this.options.delivery.emit(rt.state, current.promptId, event, !current.silent);
        }
      } catch (error) {
        this.lineFailed(rt, endOffset, error);
        // The turn did end: its prompt gets a result, if not the CLI's then one that says why.
        if (event.type === 'cli_result' && inTurn && rt.state.current?.promptId === current.promptId) {
          try {
            this.finishTurn(rt, syntheticResult('error', `the turn ended, but its result could not be recorded: ${(error as Error).message}`));
          } catch (again) {
            this.options.log.error('could not finish the turn either', { session: rt.state.id, error: again });
          }
        }
      }
    }
  }

  /** A line whose handling failed is skipped: logged, and the stream goes on past it. */
  lineFailed(rt: SessionRuntime, endOffset: number, error: unknown): void {
    this.options.log.error('a stream line could not be handled; it is skipped', { session: rt.state.id, offset: endOffset, error });
    try {
      this.options.eventLog.record('line_failed', { session: rt.state.id, offset: endOffset, error: (error as Error).message });
    } catch {
      // the event log may be failing for the same reason (a full disk)
    }
  }

  /** The turn's result from the CLI's; the process's running cost total becomes the base of its next turn. */
  private turnResult(rt: SessionRuntime, event: CliResult): TurnResult {
    const result = resultFromCli(event, rt.state.current?.interrupt, rt.state.process?.costBase ?? 0, rt.turn?.contextTokens);
    if (rt.state.process) rt.update({ process: { ...rt.state.process, costBase: event.totalCostUsd } });
    return result;
  }

  private onControlResponse(rt: SessionRuntime, requestId: string): void {
    const awaiting = rt.state.awaitingControl ?? [];
    if (awaiting.includes(requestId)) {
      const rest = awaiting.filter((id) => id !== requestId);
      rt.update({ awaitingControl: rest });
      if (rest.length === 0 && !rt.state.current) rt.clearTimer('grace');
      this.options.schedulePump(rt);
    } else if (rt.state.current?.interrupt?.requestId === requestId && rt.turn) {
      rt.turn.interruptAnswered = true;
    }
  }
}

import type { Delivery } from './delivery.ts';
import type { EventLog } from './event-log.ts';
import type { SessionHost } from './host/host.ts';
import type { SessionRuntime } from './session-runtime.ts';
import type { SessionStore } from './session-store.ts';
import { resultOfLostProcess } from './turn-results.ts';
import type { TurnTracker } from './turn-tracker.ts';
import { fileSize, readTail } from '../util/files.ts';
import type { Logger } from '../util/log.ts';

export interface LivenessOptions {
  readonly host: SessionHost;
  readonly store: SessionStore;
  readonly log: Logger;
  readonly eventLog: EventLog;
  readonly delivery: Delivery;
  readonly tracker: Pick<TurnTracker, 'readStream' | 'finishTurn'>;
  readonly sessions: () => readonly SessionRuntime[];
  /** Starts the session's next prompt once it is free. */
  readonly schedulePump: (rt: SessionRuntime) => void;
  /** How often running processes are checked and busy streams re-read when no file event came. */
  readonly pollIntervalMs?: number;
}

/**
 * Notices when a session's process is gone (its exit marker, or its host no longer runs it) and settles
 * what it leaves: the running turn, or the prompt that never reached the model.
 */
export class Liveness {
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(private readonly options: LivenessOptions) {}

  /** Checks on running processes every poll interval while any session has one. */
  ensurePolling(): void {
    if (this.pollTimer || this.closed) return;
    const interval = this.options.pollIntervalMs ?? 2000;
    this.pollTimer = setInterval(() => void this.poll(), interval);
    this.pollTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** The process wrote its exit marker. */
  processExited(rt: SessionRuntime): void {
    if (!rt.state.process) return;
    const code = readTail(rt.files.exit, 32).trim();
    this.processGone(rt, `claude exited with code ${code || 'unknown'}`);
  }

  processGone(rt: SessionRuntime, cause: string): void {
    const { store, log, eventLog } = this.options;
    rt.tail?.readAvailable();
    if (!rt.state.process) return;
    const stderr = readTail(rt.files.stderr, 2000);
    const stderrSinceLaunch = fileSize(rt.files.stderr) > rt.stderrOffsetAtLaunch ? lastLines(stderr, 3) : '';
    const reason = stderrSinceLaunch ? `${cause}: ${stderrSinceLaunch}` : cause;
    log.warn('session process ended', { session: rt.state.id, reason });
    eventLog.record('process_died', { session: rt.state.id, reason });
    rt.update({ process: undefined, awaitingControl: [] });
    rt.clearTimer('grace');
    rt.unwatch();
    const current = rt.state.current;
    if (current && !current.interrupt && !rt.turn?.sawInit && !rt.retriedPromptIds.has(current.promptId)) {
      // The prompt never reached the model: run it again in a fresh process rather than fail it.
      rt.retriedPromptIds.add(current.promptId);
      const prompt = store.loadPrompt(rt.state.id, current.promptId);
      rt.turn = undefined;
      rt.update({ current: undefined, status: 'dead', statusReason: reason });
      if (prompt) {
        store.savePrompt({ ...prompt, status: 'queued' });
        rt.queue.unshift({ ...prompt, status: 'queued' });
      }
      this.options.schedulePump(rt);
      return;
    }
    if (current) {
      this.options.delivery.emit(rt.state, current.promptId, { type: 'error', message: reason });
      rt.update({ status: 'dead', statusReason: reason });
      this.options.tracker.finishTurn(rt, resultOfLostProcess(current.interrupt, reason));
    } else {
      rt.update({ status: 'dead', statusReason: reason });
    }
  }

  /** The slow fallback: notices processes that vanished without a word (a killed tmux server). */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const withProcess = this.options.sessions().filter((rt) => rt.state.process);
      if (withProcess.length === 0) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
        return;
      }
      const running = await this.options.host.running();
      for (const rt of withProcess) {
        await rt.serial(async () => {
          // Deleted while the host was asked: its delete ended the process (the host no longer runs it)
          // and removed its directory; it is neither dead nor anything left to write.
          if (rt.isRemoved || !rt.state.process) return;
          this.options.tracker.readStream(rt);
          if (rt.state.process && !running.has(rt.state.id) && !(await this.options.host.isRunning(rt.state.id))) {
            this.processGone(rt, 'the session process is gone (its tmux session or server was killed)');
          }
        });
      }
    } catch (error) {
      this.options.log.error('liveness check failed', { error });
    } finally {
      this.polling = false;
    }
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

import fs from 'node:fs';
import type { Delivery } from './delivery.ts';
import type { EngineSettings } from './engine-settings.ts';
import type { EventLog } from './event-log.ts';
import type { SessionHost } from './host/host.ts';
import type { Liveness } from './liveness.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { SessionRuntime } from './session-runtime.ts';
import type { SessionStore } from './session-store.ts';
import { Turn } from './turn.ts';
import type { PromptRecord } from './session-types.ts';
import { resultOfLostProcess, syntheticResult } from './turn-results.ts';
import type { TurnRunner } from './turn-runner.ts';
import type { TurnTracker } from './turn-tracker.ts';
import { fileSize, readTail } from '../util/files.ts';
import type { Logger } from '../util/log.ts';

export interface RecoveryOptions {
  readonly host: SessionHost;
  readonly store: SessionStore;
  readonly log: Logger;
  readonly eventLog: EventLog;
  readonly settings: () => Pick<EngineSettings, 'interruptGraceMs'>;
  readonly registry: Pick<SessionRegistry, 'add' | 'all' | 'size'>;
  readonly delivery: Pick<Delivery, 'recoverResult' | 'releaseHeld'>;
  readonly tracker: Pick<TurnTracker, 'follow' | 'persistDeliveredOffset' | 'finishTurn' | 'completePrompt'>;
  readonly liveness: Pick<Liveness, 'processGone' | 'ensurePolling'>;
  readonly runner: Pick<TurnRunner, 'schedulePump' | 'armTurnTimeout' | 'armGraceKill'>;
}

/**
 * Rediscovers every session from the state dir and the host: turns still running are followed from
 * the delivered offset, results that arrived while the daemon was down are delivered, sessions whose
 * process died are marked dead, and queued prompts go on.
 */
export async function recoverSessions(options: RecoveryOptions): Promise<void> {
  const { store, host, log, registry, delivery } = options;
  const states = store.loadAll((id, error) => log.error('unreadable session state; skipped', { session: id, error }));
  const running = await host.running().catch((error: unknown) => {
    log.warn('could not list the running sessions; asking for each one', { error: (error as Error).message });
    return new Set<string>();
  });
  for (const state of states) {
    const rt = registry.add(state);
    const prompts = store.loadPrompts(state.id, (file, error) => log.error('unreadable prompt; skipped', { file, error }));
    rt.queue.push(...prompts.filter((p) => p.status === 'queued'));
    for (const prompt of prompts) delivery.recoverResult(state, prompt);
    const alive = running.has(state.id) || (state.process !== undefined && (await host.isRunning(state.id)));
    await rt.serial(async () => {
      recoverSession(options, rt, alive);
      finishStrandedPrompts(options, rt, prompts);
    });
  }
  for (const rt of registry.all()) options.runner.schedulePump(rt);
  delivery.releaseHeld();
  options.liveness.ensurePolling();
  options.eventLog.record('recovered', { sessions: registry.size, running: running.size });
}

function recoverSession(options: RecoveryOptions, rt: SessionRuntime, alive: boolean): void {
  const { store, tracker, runner } = options;
  const state = rt.state;
  const exited = fs.existsSync(rt.files.exit);
  const current = state.current;
  if (current && fileSize(rt.files.input) <= current.inputOffset) {
    // The daemon died between choosing the prompt and writing it: it never started.
    const prompt = store.loadPrompt(state.id, current.promptId);
    rt.update({ current: undefined, status: 'idle' });
    // Chosen before its record said `running`, it is in the queue already: it must run once.
    const queued = rt.queue.findIndex((p) => p.id === current.promptId);
    if (queued >= 0) rt.queue.splice(queued, 1);
    if (prompt && prompt.status !== 'done') rt.queue.unshift({ ...prompt, status: 'queued' });
  }
  if (!state.process) {
    // No process, so no interrupt answer can come: nothing may wait for one.
    if ((rt.state.awaitingControl ?? []).length > 0) rt.update({ awaitingControl: [] });
    const orphan = rt.state.current;
    if (orphan) endOrphanTurn(options, rt, orphan.streamOffset);
    else if (rt.state.status === 'busy') rt.update({ status: 'idle' });
    return;
  }
  const delivered = store.readDeliveredOffset(state.id);
  const from = rt.state.current ? Math.max(delivered, rt.state.current.streamOffset) : Math.max(delivered, fileSize(rt.files.stream));
  rt.lastLaunchId = state.process.launchId;
  tracker.follow(rt, from);
  if (rt.state.current) rt.turn = new Turn({ sawInit: true });
  rt.tail?.readAvailable();
  tracker.persistDeliveredOffset(rt);
  if (!alive || exited) {
    options.liveness.processGone(rt, exited ? `claude exited with code ${readTail(rt.files.exit, 32).trim()} while the daemon was down` : 'the session process was gone when the daemon started');
    return;
  }
  const turn = rt.state.current;
  const graceMs = options.settings().interruptGraceMs;
  if (turn) {
    runner.armTurnTimeout(rt, Date.now() - Date.parse(turn.startedAt));
    if (turn.interrupt) runner.armGraceKill(rt, Math.max(0, graceMs - (Date.now() - Date.parse(turn.interrupt.sentAt))));
  } else if ((rt.state.awaitingControl ?? []).length > 0) {
    runner.armGraceKill(rt, graceMs);
  }
}

/**
 * A prompt saved as running that is not the session's current turn: the daemon stopped after the turn
 * ended and before the prompt was saved as done. It is finished (as died, with the reason), so whoever waits for it
 * (a `wait`, a cron job) gets an answer.
 */
function finishStrandedPrompts(options: RecoveryOptions, rt: SessionRuntime, prompts: readonly PromptRecord[]): void {
  for (const loaded of prompts) {
    if (loaded.status !== 'running' || loaded.id === rt.state.current?.promptId || rt.queue.some((queued) => queued.id === loaded.id)) continue;
    // Recovery may have finished it meanwhile (a turn that ended while the daemon was down).
    const prompt = options.store.loadPrompt(rt.state.id, loaded.id);
    if (prompt?.status !== 'running') continue;
    const reason = 'the daemon stopped after this turn ended and before its result was saved';
    options.log.warn('a prompt was left running without a turn; finishing it with the reason', { session: rt.state.id, prompt: prompt.id });
    options.eventLog.record('prompt_stranded', { session: rt.state.id, prompt: prompt.id });
    options.tracker.completePrompt(rt, prompt, syntheticResult('died', reason));
  }
}

/**
 * A turn recorded without a process (ended while no engine watched it): what it wrote to the stream is
 * read, a result there counts, and otherwise the turn ends as died, so the session takes prompts again.
 */
function endOrphanTurn(options: RecoveryOptions, rt: SessionRuntime, streamOffset: number): void {
  const { store, tracker } = options;
  tracker.follow(rt, Math.max(store.readDeliveredOffset(rt.state.id), streamOffset));
  rt.turn = new Turn({ sawInit: true });
  rt.tail?.readAvailable();
  tracker.persistDeliveredOffset(rt);
  rt.unwatch();
  const still = rt.state.current;
  if (!still) return;
  const reason = 'the session process was ended before the turn finished';
  rt.update({ status: 'dead', statusReason: reason });
  tracker.finishTurn(rt, resultOfLostProcess(still.interrupt, reason));
}

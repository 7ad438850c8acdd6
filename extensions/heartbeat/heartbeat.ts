import path from 'node:path';
import { backgroundLabels, readJsonFile, writeJsonAtomic, type ExtensionContext, type TurnResult, type UsageSnapshot } from 'claude-ext/extension';
import { buildDecisionPrompt, buildRunPrompt, decisionSchema, instructionsExcerpt, parseDecision, validateDecision, type Decision } from './decision.ts';
import { runGate, type Finding, type Snapshot } from './gate.ts';
import type { HeartbeatStore } from './state-store.ts';
import {
  addNote,
  addTick,
  checkUtilization,
  checkValves,
  deferFindings,
  isValidTime,
  recordDecisionCost,
  recordRun,
  rollDay,
  takeDeferredFindings,
  type HeartbeatState,
  type TickRecord,
  type ValveCheck,
  type ValveConfig,
} from './valves.ts';

/** What the run prompt asks for when there is nothing worth telling the user. */
export const NOTHING_TO_REPORT = 'NOTHING_TO_REPORT';

export interface HeartbeatSettings {
  readonly user: string;
  readonly cwd: string | undefined;
  readonly watch: readonly string[];
  readonly command: { command: string; timeoutMs: number } | undefined;
  readonly decisionModel: string;
  readonly model: string | undefined;
  readonly template: string | undefined;
  /** Where reports go (e.g. a Telegram chat). */
  readonly labels: Readonly<Record<string, string>>;
  readonly valves: ValveConfig;
}

/** Another extension's source of things needing attention (e.g. unanswered questions). */
export type PendingSource = () => Promise<Finding[]>;

/**
 * One heartbeat: on each tick, the gate (no model), then a decision by a small model with
 * structured output, then a full run — each step behind the safety valves, each outcome logged.
 */
export class Heartbeat {
  private state: HeartbeatState;
  private ticking: Promise<TickRecord> | undefined;
  /** What the utilisation valve saw during the running tick, kept for its record even when the tick fails. */
  private utilizationNote: string | undefined;
  readonly sources = new Map<string, PendingSource>();

  constructor(
    private readonly ctx: ExtensionContext<unknown>,
    private readonly store: HeartbeatStore,
    private settings: HeartbeatSettings,
  ) {
    const loaded = store.load(Date.now(), settings.valves.timezone);
    if (loaded.problem) ctx.logger.warn(`heartbeat state: ${loaded.problem}`);
    this.state = loaded.state;
  }

  reconfigure(settings: HeartbeatSettings): void {
    this.settings = settings;
  }

  status(): HeartbeatState & { instructionsAreDefault: boolean } {
    this.state = rollDay(this.state, Date.now(), this.settings.valves.timezone);
    return { ...this.state, instructionsAreDefault: this.store.instructions().isDefault };
  }

  /** The valves' limits, and which one (if any) would keep a decision from happening now. */
  valves(): { readonly limits: ValveConfig; readonly now: ValveCheck } {
    return { limits: this.settings.valves, now: checkValves(this.state, this.settings.valves, Date.now(), 'decision') };
  }

  note(text: string): void {
    this.update(addNote(this.state, text));
  }

  /** Pauses until `until` (epoch ms); a time a Date cannot hold is refused before anything is saved. */
  pause(until: number): void {
    if (!isValidTime(until)) throw new RangeError(`cannot pause until ${until}: not a time`);
    this.update({ ...this.state, pausedUntil: until });
    this.ctx.record('heartbeat_paused', { until: new Date(until).toISOString() });
  }

  resume(): void {
    const { pausedUntil: _cleared, ...rest } = this.state;
    this.update(rest);
    this.ctx.record('heartbeat_resumed');
  }

  /** Runs one tick now, or waits for the one already running. */
  tick(trigger: 'timer' | 'manual'): Promise<TickRecord> {
    this.ticking ??= this.runTick(trigger).finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async runTick(trigger: 'timer' | 'manual'): Promise<TickRecord> {
    const now = Date.now();
    const settings = this.settings;
    let record: TickRecord;
    this.utilizationNote = undefined;
    try {
      record = await this.decideAndRun(now, settings);
    } catch (error) {
      record = { at: now, outcome: 'error', reason: (error as Error).message, ...(this.utilizationNote ? { utilization: this.utilizationNote } : {}) };
    }
    this.update(addTick(this.state, record));
    this.ctx.record('heartbeat_tick', { trigger, ...record, at: new Date(record.at).toISOString() });
    return record;
  }

  private async decideAndRun(now: number, settings: HeartbeatSettings): Promise<TickRecord> {
    this.state = rollDay(this.state, now, settings.valves.timezone);
    if (this.state.pausedUntil !== undefined && this.state.pausedUntil > now) {
      return { at: now, outcome: 'paused', reason: `paused until ${new Date(this.state.pausedUntil).toISOString()}` };
    }
    const snapshotFile = path.join(this.ctx.dataDir, 'snapshot.json');
    const gate = await runGate({
      ...(settings.watch.length > 0 ? { watch: { paths: settings.watch, snapshot: readJsonFile<Snapshot>(snapshotFile) } } : {}),
      ...(settings.command ? { command: { command: settings.command.command, cwd: settings.cwd ?? this.ctx.sessions.defaultCwd, timeoutMs: settings.command.timeoutMs } } : {}),
      ...(this.sources.size > 0 ? { pending: () => this.pendingFindings() } : {}),
    });
    if (gate.snapshot) writeJsonAtomic(snapshotFile, gate.snapshot);
    const taken = takeDeferredFindings(this.state);
    this.state = taken.state;
    const findings = [...taken.findings, ...gate.findings];
    if (findings.length === 0) return { at: now, outcome: 'gated_out', findings: 0 };

    const usageBefore = await this.usage(settings, now);
    const beforeDecision = checkValves(this.state, settings.valves, now, 'decision', usageBefore?.snapshot);
    if (!beforeDecision.ok) {
      this.state = deferFindings(this.state, findings);
      return { at: now, outcome: 'valve', valve: beforeDecision.valve, reason: beforeDecision.reason, findings: findings.length, ...usageBefore?.note };
    }
    const instructions = this.store.instructions().text;
    const decided = await this.decide(findings, instructions, settings);
    this.state = recordDecisionCost(this.state, decided.costUsd);
    if ('error' in decided.decision || decided.decision.decision === 'skip') {
      const reason = 'error' in decided.decision ? `no usable decision (${decided.decision.error}); skipped` : decided.decision.reason;
      return { at: now, outcome: 'skipped', reason, costUsd: decided.costUsd, findings: findings.length, ...usageBefore?.note };
    }
    const runAt = Date.now();
    const usageNow = await this.usage(settings, runAt);
    const beforeRun = checkValves(this.state, settings.valves, runAt, 'run', usageNow?.snapshot);
    if (!beforeRun.ok) {
      this.state = deferFindings(this.state, findings);
      return { at: now, outcome: 'valve', valve: beforeRun.valve, reason: beforeRun.reason, costUsd: decided.costUsd, findings: findings.length, ...usageNow?.note };
    }
    const result = await this.run(buildRunPrompt(instructions, findings, this.state.notes, decided.decision.reason), settings);
    const text = result.text.trim();
    const outcome = result.outcome !== 'success' ? 'failure' : !text || text.includes(NOTHING_TO_REPORT) ? 'noop' : 'success';
    this.state = recordRun(this.state, { now: Date.now(), costUsd: result.costUsd, outcome, timezone: settings.valves.timezone });
    return { at: now, outcome: 'ran', reason: `${outcome}${outcome === 'failure' ? `: ${result.outcome}` : ''}`, costUsd: decided.costUsd + result.costUsd, findings: findings.length, ...usageNow?.note };
  }

  /** The usage reading for the utilisation valve, and what the valve made of it (for the tick's record); none when the valve is off. */
  private async usage(settings: HeartbeatSettings, now: number): Promise<{ snapshot: UsageSnapshot; note: { utilization: string } } | undefined> {
    const max = settings.valves.maxUtilization;
    if (max === undefined) return undefined;
    const snapshot = await this.ctx.usage.current();
    this.utilizationNote = checkUtilization(snapshot, max, now).reason;
    return { snapshot, note: { utilization: this.utilizationNote } };
  }

  private async decide(findings: Finding[], instructions: string, settings: HeartbeatSettings): Promise<{ decision: Decision | { error: string }; costUsd: number }> {
    const result = await this.oneShot(buildDecisionPrompt(findings, this.state.notes, instructionsExcerpt(instructions)), settings, 'decision', {
      model: settings.decisionModel,
      jsonSchema: decisionSchema as unknown as Record<string, unknown>,
      maxTurns: 3,
    });
    if (result.outcome !== 'success') return { decision: { error: `the decision failed: ${result.outcome}` }, costUsd: result.costUsd };
    const structured = result.structuredOutput !== undefined ? validateDecision(result.structuredOutput) : undefined;
    return { decision: structured && !('error' in structured) ? structured : parseDecision(result.text), costUsd: result.costUsd };
  }

  private run(prompt: string, settings: HeartbeatSettings): Promise<TurnResult> {
    return this.oneShot(`${prompt}\nIf nothing needed doing or nothing is worth telling the user, answer exactly ${NOTHING_TO_REPORT}.`, settings, 'run', settings.model ? { model: settings.model } : {});
  }

  /** A prompt in an ephemeral session of its own; a run that has news is published to the user's frontend. */
  private async oneShot(text: string, settings: HeartbeatSettings, kind: 'decision' | 'run', options: { model?: string; jsonSchema?: Record<string, unknown>; maxTurns?: number }): Promise<TurnResult> {
    const sessions = this.ctx.sessions;
    const session = sessions.create({
      user: settings.user,
      name: `heartbeat ${kind} ${new Date().toISOString().slice(11, 19).replace(/:/g, '')}`,
      ...(settings.cwd ? { cwd: settings.cwd } : {}),
      ...(kind === 'run' && settings.template ? { template: settings.template } : {}),
      labels: { ...settings.labels, ...backgroundLabels(this.ctx.name), heartbeat: kind, delivery: 'reports' },
      ephemeral: true,
    });
    const submitted = sessions.submit({ user: settings.user, session: session.id, text, options });
    const prompt = await sessions.waitForPrompt(session.id, submitted.prompt.id);
    const result = prompt.result;
    if (!result) throw new Error(`the ${kind} ended without a result`);
    if (kind === 'run' && result.outcome === 'success' && result.text.trim() && !result.text.includes(NOTHING_TO_REPORT)) {
      this.ctx.publish(session.id, 'report', { text: result.text, summary: `heartbeat: ${result.text.trim().split('\n')[0]?.slice(0, 200) ?? ''}` });
    }
    return result;
  }

  private async pendingFindings(): Promise<Finding[]> {
    const all = await Promise.all([...this.sources.values()].map((source) => source().catch(() => [])));
    return all.flat();
  }

  private update(state: HeartbeatState): void {
    this.state = state;
    this.store.save(state);
  }
}

import { z } from 'zod';
import { RpcError, RpcErrorCode, DEFAULT_USER, duration, type BridgeCall, type Extension } from 'claude-ext/extension';
import { Heartbeat, type HeartbeatSettings, type PendingSource } from './heartbeat.ts';
import { HeartbeatStore } from './state-store.ts';
import { checkUtilization, UNTIL_RESUMED_MS, validateValveConfig } from './valves.ts';
import { instructionsParams, logParams, METHODS, noParams, noteParams, pauseParams, type HeartbeatMethod } from './protocol.ts';
import { tools } from './tools.ts';

/** The longest delay a Node timer honours: a longer one fires at once (and an interval then every millisecond). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration a timer waits: from `least` to the longest a timer can (about 24.8 days). */
const timerDuration = (least: string, leastMs: number) =>
  duration.refine((ms) => ms >= leastMs && ms <= MAX_TIMER_MS, `must be from ${least} to 24d (the longest a timer can wait)`);

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');

const configSchema = z.strictObject({
  /** How often the gate is checked. */
  interval: timerDuration('1s', 1000).default(30 * 60_000),
  /** Whose sessions the heartbeat runs in: a user id the daemon takes, or every run would fail. */
  user: z
    .string()
    .min(1)
    .max(128)
    .refine((user) => !/[\0\n]/.test(user), 'a user id has no NUL or newline')
    .default(DEFAULT_USER),
  cwd: z.string().min(1).optional(),
  /** Files and directories whose changes open the gate. */
  watch: z.array(z.string().min(1)).default([]),
  /** A command whose exit code 0 opens the gate (its output is a finding). */
  command: z.string().min(1).optional(),
  command_timeout: timerDuration('1ms', 1).default(30_000),
  /** The small model that decides whether to run. */
  decision_model: z.string().min(1).default('haiku'),
  /** The model of the runs (default: the engine's). */
  model: z.string().min(1).optional(),
  template: z.string().min(1).optional(),
  min_interval: duration.default(60 * 60_000),
  max_runs_per_day: z.number().int().min(0).default(12),
  daily_budget_usd: z.number().min(0).default(1),
  quiet_hours: z.strictObject({ start: clock, end: clock }).optional(),
  timezone: z.string().default(Intl.DateTimeFormat().resolvedOptions().timeZone),
  backoff_base: duration.default(30 * 60_000),
  backoff_max: duration.default(8 * 3_600_000),
  /** Holds decisions and runs while the subscription's 5-hour utilisation (percent) is above this; null or false: never. */
  max_utilization: z.union([z.number().min(0).max(100), z.literal(false), z.null()]).default(80),
  /** Where reports go, e.g. { frontend: telegram, chat: "123456" }. */
  labels: z.record(z.string(), z.string()).default({}),
});

type HeartbeatConfig = z.output<typeof configSchema>;

/** What other extensions use: report things that need attention to the gate. */
export interface HeartbeatService {
  addSource(name: string, source: PendingSource): { dispose(): void };
}

function settingsOf(config: HeartbeatConfig, resolvePath: (configured: string) => string): HeartbeatSettings {
  const valves = {
    minIntervalMs: config.min_interval,
    maxRunsPerDay: config.max_runs_per_day,
    dailyBudgetUsd: config.daily_budget_usd,
    ...(config.quiet_hours ? { quietHours: config.quiet_hours } : {}),
    timezone: config.timezone,
    backoffBaseMs: config.backoff_base,
    backoffMaxMs: config.backoff_max,
    ...(typeof config.max_utilization === 'number' ? { maxUtilization: config.max_utilization } : {}),
  };
  validateValveConfig(valves);
  return {
    user: config.user,
    cwd: config.cwd ? resolvePath(config.cwd) : undefined,
    watch: config.watch.map(resolvePath),
    command: config.command ? { command: config.command, timeoutMs: config.command_timeout } : undefined,
    decisionModel: config.decision_model,
    model: config.model,
    template: config.template,
    labels: config.labels,
    valves,
  };
}

export default (): Extension<HeartbeatConfig> => {
  let heartbeat: Heartbeat | undefined;
  let restartTimer: (() => void) | undefined;
  let applyConfig: ((next: HeartbeatConfig) => void) | undefined;
  return {
    name: 'heartbeat',
    description: 'An autonomous agent that wakes up when something may need attention',
    configSchema,
    start(ctx) {
      const store = new HeartbeatStore(ctx.dataDir);
      const beat = new Heartbeat(ctx, store, settingsOf(ctx.config, ctx.resolvePath));
      heartbeat = beat;
      const arm = (interval: number): void => {
        const timer = ctx.setInterval(() => void beat.tick('timer'), interval);
        restartTimer = () => timer.dispose();
      };
      arm(ctx.config.interval);
      let intervalMs = ctx.config.interval;
      ctx.track({
        dispose: () => restartTimer?.(),
      });
      const service: HeartbeatService = {
        addSource: (name, source) => {
          beat.sources.set(name, source);
          return { dispose: () => beat.sources.delete(name) };
        },
      };
      ctx.provideService('heartbeat', service);
      const ownerOnly = (call: BridgeCall): void => {
        if (call.session && call.session.user !== ctx.config.user) throw new RpcError(RpcErrorCode.Unauthorized, 'only the heartbeat\'s own user may use it');
      };
      /** Every method is the admin's and the heartbeat user's sessions' (`heartbeat.user` as configured now). */
      const method = <P extends z.ZodType>(name: HeartbeatMethod, params: P, handler: (p: z.output<P>) => unknown) =>
        ctx.addBridgeMethod(name, { params, access: 'any' }, (p, call) => {
          ownerOnly(call);
          return handler(p);
        });

      method(METHODS.status, noParams, async () => {
        const max = typeof ctx.config.max_utilization === 'number' ? ctx.config.max_utilization : null;
        const utilization = max === null ? undefined : checkUtilization(await ctx.usage.current(), max, Date.now()).reason;
        return { ...beat.status(), log: beat.status().log.slice(-10), intervalMs, valves: beat.valves(), maxUtilization: max, ...(utilization ? { utilization } : {}) };
      });
      method(METHODS.note, noteParams, ({ text }) => {
        beat.note(text);
        return { noted: text };
      });
      method(METHODS.instructionsGet, noParams, () => store.instructions());
      method(METHODS.instructionsSet, instructionsParams, ({ text }) => {
        store.setInstructions(text);
        ctx.record('heartbeat_instructions_changed');
        return { saved: true };
      });
      method(METHODS.pause, pauseParams, (p) => {
        const until = p.until !== undefined ? Date.parse(p.until) : Date.now() + (p.minutes !== undefined ? p.minutes * 60_000 : UNTIL_RESUMED_MS);
        beat.pause(until);
        return { pausedUntil: new Date(until).toISOString() };
      });
      method(METHODS.resume, noParams, () => {
        beat.resume();
        return { resumed: true };
      });
      method(METHODS.trigger, noParams, () => beat.tick('manual'));
      method(METHODS.log, logParams, ({ n }) => beat.status().log.slice(-n));
      ctx.addTools({ server: 'heartbeat', tools, when: (session) => session.user === ctx.config.user });
      applyConfig = (next) => {
        beat.reconfigure(settingsOf(next, ctx.resolvePath));
        if (next.interval !== intervalMs) {
          restartTimer?.();
          arm(next.interval);
          intervalMs = next.interval;
        }
      };
    },
    reconfigure(next) {
      applyConfig?.(next);
    },
    healthCheck() {
      if (!heartbeat) return { status: 'error', reason: 'not started' };
      const last = heartbeat.status().log.at(-1);
      return last?.outcome === 'error' ? { status: 'degraded', reason: `last tick failed: ${last.reason ?? ''}` } : { status: 'ok', detail: last ? `last tick: ${last.outcome}` : 'no tick yet' };
    },
  };
};

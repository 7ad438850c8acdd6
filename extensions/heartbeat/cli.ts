import { parseArgs } from 'node:util';
import type { CommandContext, ExtensionCommand } from 'claude-ext/extension';
import { METHODS, type PauseResult, type StatusView, type TickView as Tick } from './protocol.ts';

const usage = 'heartbeat status|pause [--until T|--minutes N]|resume|trigger|log [N]   the autonomous agent';

function line(tick: Tick): string {
  const parts = [new Date(tick.at).toISOString(), tick.outcome];
  if (tick.valve) parts.push(`valve ${tick.valve}`);
  if (tick.reason) parts.push(tick.reason);
  if (tick.costUsd !== undefined) parts.push(`$${tick.costUsd.toFixed(4)}`);
  if (tick.findings !== undefined) parts.push(`${tick.findings} finding${tick.findings === 1 ? '' : 's'}`);
  if (tick.utilization) parts.push(tick.utilization);
  return parts.join('  ');
}

async function run(ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = ctx.args;
  const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, until: { type: 'string' }, minutes: { type: 'string' } }, allowPositionals: true });
  const print = (value: unknown, human: () => string): void => ctx.out(values.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
  switch (sub) {
    case 'status': {
      const status = await ctx.call<StatusView>(METHODS.status);
      print(status, () =>
        [
          `today (${status.day}): ${status.runsToday} runs, $${status.costToday.toFixed(4)}`,
          status.pausedUntil ? `paused until ${new Date(status.pausedUntil).toISOString()}` : 'active',
          `failures in a row: ${status.consecutiveFailures}, runs without result in a row: ${status.consecutiveNoops}`,
          `utilisation valve: ${status.maxUtilization === null ? 'off' : `holds above ${status.maxUtilization}% (5-hour); now: ${status.utilization ?? 'unknown'}`}`,
          `notes: ${status.notes.length ? status.notes.join(' | ') : '(none)'}`,
          ...status.log.slice(-5).map(line),
        ].join('\n'),
      );
      return 0;
    }
    case 'pause': {
      const answer = await ctx.call<PauseResult>(METHODS.pause, { ...(values.until ? { until: values.until } : {}), ...(values.minutes ? { minutes: Number(values.minutes) } : {}) });
      print(answer, () => `paused until ${answer.pausedUntil}`);
      return 0;
    }
    case 'resume':
      await ctx.call(METHODS.resume);
      print({ resumed: true }, () => 'resumed');
      return 0;
    case 'trigger': {
      const tick = await ctx.call<Tick>(METHODS.trigger);
      print(tick, () => line(tick));
      return tick.outcome === 'error' ? 1 : 0;
    }
    case 'log': {
      const ticks = await ctx.call<Tick[]>(METHODS.log, { n: Number(positionals[0] ?? 20) });
      print(ticks, () => ticks.map(line).join('\n') || 'no ticks yet');
      return 0;
    }
    default:
      ctx.err(`claude-ext: usage: claude-ext ${usage}\n`);
      return 2;
  }
}

export const commands: ExtensionCommand[] = [{ name: 'heartbeat', usage, run }];

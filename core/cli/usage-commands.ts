import type { UsageAnswer } from '../bridge/control-api.ts';
import { describeAccount, formatPercent, formatReset } from '../usage/usage-format.ts';
import type { UsageWindow } from '../usage/usage-types.ts';
import { commonOptions, parse, UsageError } from './arguments.ts';
import { usage, type BuiltinCommand } from './builtin-command.ts';
import { withDaemon } from './daemon-connection.ts';
import { formatCost } from './render.ts';

export const usageCommand: BuiltinCommand = {
  name: 'usage',
  usage: usage('usage [--user U] [--days N] [--fresh] [--json]', 'subscription limits used (5h, 7d) and costs per day and user'),
  async run(ctx) {
    const { values } = parse(ctx.args, { ...commonOptions, days: { type: 'string' }, fresh: { type: 'boolean' } });
    const days = values.days === undefined ? 7 : Number(values.days);
    if (!Number.isInteger(days) || days < 1) throw new UsageError(`--days ${values.days}: give a whole number of days, at least 1`);
    return withDaemon(ctx, values.config, async (client) => {
      const answer = await client.call<UsageAnswer>('usage.get', { days, ...(values.user ? { user: values.user } : {}), ...(values.fresh ? { max_age_ms: 0 } : {}) });
      ctx.output.out(values.json ? `${JSON.stringify(answer, null, 2)}\n` : describeAnswer(answer, days));
      return 0;
    });
  },
};

function describeAnswer(answer: UsageAnswer, days: number): string {
  const { usage: reading } = answer;
  const lines = [`account: ${describeAccount(reading)}`];
  if (reading.error) lines.push(`no reading: ${reading.error}`);
  if (reading.auth === 'subscription' && !reading.error) {
    lines.push(`5-hour:  ${windowLine(reading.fiveHour)}`, `7-day:   ${windowLine(reading.sevenDay)}`);
  }
  lines.push(`checked: ${reading.checkedAt}`, '', `costs, last ${days} day${days === 1 ? '' : 's'} (UTC):`);
  if (answer.costs.length === 0) lines.push('  none');
  else {
    const width = Math.max(4, ...answer.costs.map((c) => c.user.length));
    lines.push(`  ${'day'.padEnd(10)}  ${'user'.padEnd(width)}  ${'cost'.padStart(10)}  prompts`);
    for (const cost of answer.costs) lines.push(`  ${cost.day}  ${cost.user.padEnd(width)}  ${formatCost(cost.costUsd).padStart(10)}  ${cost.prompts}`);
  }
  return `${lines.join('\n')}\n`;
}

function windowLine(window: UsageWindow | undefined): string {
  if (!window) return 'not reported';
  return `${formatPercent(window.utilization)} used${window.resetsAt ? `, resets ${formatReset(window.resetsAt)}` : ''}`;
}

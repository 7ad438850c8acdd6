import { parseArgs } from 'node:util';
import type { CommandContext, ExtensionCommand } from 'claude-ext/extension';
import { METHODS, type JobView, type RunNowResult } from './protocol.ts';

const usage =
  'cron list|add|delete|run-now|pause|resume ...   scheduled prompts (cron add NAME --schedule EXPR|--at WHEN [--skip-above PERCENT] [--label frontend=telegram --label chat=ID] PROMPT)';

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' }, json: { type: 'boolean' } } });
  const jobs = await ctx.call<JobView[]>(METHODS.list, values.user ? { user: values.user } : {});
  if (values.json) {
    ctx.out(`${JSON.stringify(jobs, null, 2)}\n`);
    return 0;
  }
  if (jobs.length === 0) ctx.out('no cron jobs\n');
  for (const job of jobs) {
    const when = job.schedule ? `"${job.schedule}" ${job.timezone}` : `once at ${job.runAt}`;
    const missed = (job.recent ?? []).filter((r) => r.status === 'missed' || r.status === 'skipped').length;
    ctx.out(
      `${job.id}  ${job.name} (${job.user})  ${when}${job.paused ? '  PAUSED' : ''}${job.done ? '  done' : ''}${job.skipAboveUtilization !== null ? `  skip above ${job.skipAboveUtilization}%` : ''}\n` +
        `  next ${job.nextRunAt ?? '—'}  last ${job.lastRunAt ?? '—'} ${job.lastStatus ?? ''}${job.lastCostUsd !== null ? ` $${job.lastCostUsd.toFixed(4)}` : ''}${missed ? `  (${missed} recent missed/skipped)` : ''}\n`,
    );
  }
  return 0;
}

async function add(ctx: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      schedule: { type: 'string' },
      at: { type: 'string' },
      tz: { type: 'string' },
      session: { type: 'string' },
      keep: { type: 'boolean' },
      misfire: { type: 'string' },
      label: { type: 'string', multiple: true },
      'skip-above': { type: 'string' },
    },
    allowPositionals: true,
  });
  const [name, ...words] = positionals;
  if (!name || words.length === 0) return fail(ctx, 'cron add needs NAME and the PROMPT');
  const labels: Record<string, string> = {};
  for (const pair of values.label ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return fail(ctx, `--label ${pair}: expected KEY=VALUE, e.g. --label frontend=telegram --label chat=123456`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const skipAbove = values['skip-above'];
  const percent = skipAbove === undefined ? undefined : Number(skipAbove.replace(/%$/, ''));
  if (percent !== undefined && (skipAbove?.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100)) {
    return fail(ctx, `--skip-above ${skipAbove}: expected a percentage from 0 to 100, e.g. --skip-above 80`);
  }
  const job = await ctx.call<JobView>(METHODS.create, {
    name,
    prompt: words.join(' '),
    ...(values.schedule ? { schedule: values.schedule } : {}),
    ...(values.at ? { run_at: values.at } : {}),
    ...(values.tz ? { timezone: values.tz } : {}),
    ...(values.session ? { session: values.session } : {}),
    ...(values.keep ? { keep: true } : {}),
    ...(values.misfire ? { misfire: values.misfire } : {}),
    ...(values.user ? { user: values.user } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(percent !== undefined ? { skip_above_utilization: percent } : {}),
  });
  ctx.out(`created ${job.id} (${job.name}); next run ${job.nextRunAt}\n`);
  return 0;
}

async function byId(ctx: CommandContext, method: string, args: string[], verb: string): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true });
  const id = positionals[0];
  if (!id) return fail(ctx, `cron ${verb} needs a job ID (see cron list)`);
  const answer = await ctx.call<Partial<RunNowResult>>(method, { id });
  ctx.out(`${verb}: ${id}${answer.run !== undefined ? ` (run ${answer.run}, ${String(answer.status)})` : ''}\n`);
  return 0;
}

function fail(ctx: CommandContext, message: string): number {
  ctx.err(`claude-ext: ${message}\n`);
  return 2;
}

const cron: ExtensionCommand = {
  name: 'cron',
  usage,
  run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'list':
        return list(ctx, rest);
      case 'add':
        return add(ctx, rest);
      case 'delete':
        return byId(ctx, METHODS.delete, rest, 'deleted');
      case 'run-now':
        return byId(ctx, METHODS.runNow, rest, 'started');
      case 'pause':
        return byId(ctx, METHODS.pause, rest, 'paused');
      case 'resume':
        return byId(ctx, METHODS.resume, rest, 'resumed');
      default:
        return Promise.resolve(fail(ctx, `usage: claude-ext ${usage}`));
    }
  },
};

export const commands: ExtensionCommand[] = [cron];

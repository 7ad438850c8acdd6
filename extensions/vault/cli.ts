import { parseArgs } from 'node:util';
import type { CommandContext, ExtensionCommand } from 'claude-ext/extension';
import { METHODS, type DeleteResult, type ListedEntry } from './protocol.ts';

const usage = 'vault set|list|delete [--user U] [KEY] [--tag T]   the encrypted vault (set reads the value from stdin, no echo)';

async function set(ctx: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { user: { type: 'string' }, tag: { type: 'string', multiple: true } }, allowPositionals: true });
  const key = positionals[0];
  if (!key || positionals.length > 1) return fail(ctx, 'vault set needs one KEY; the value is read from stdin');
  const value = await ctx.readSecret(`value for ${key}: `);
  if (value.length === 0) return fail(ctx, 'the value is empty');
  await ctx.call(METHODS.store, { key, value, ...(values.user ? { user: values.user } : {}), ...(values.tag ? { tags: values.tag } : {}) });
  ctx.out(`stored ${key}\n`);
  return 0;
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' }, tag: { type: 'string' }, json: { type: 'boolean' } } });
  const entries = await ctx.call<ListedEntry[]>(METHODS.list, { ...(values.user ? { user: values.user } : {}), ...(values.tag ? { tag: values.tag } : {}) });
  if (values.json) ctx.out(`${JSON.stringify(entries, null, 2)}\n`);
  else if (entries.length === 0) ctx.out('the vault is empty\n');
  else for (const e of entries) ctx.out(`${values.user ? '' : `${e.user}  `}${e.key}${e.tags.length ? `  [${e.tags.join(', ')}]` : ''}  updated ${e.updatedAt}\n`);
  return 0;
}

async function remove(ctx: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { user: { type: 'string' } }, allowPositionals: true });
  const key = positionals[0];
  if (!key || positionals.length > 1) return fail(ctx, 'vault delete needs one KEY');
  const answer = await ctx.call<DeleteResult>(METHODS.delete, { key, ...(values.user ? { user: values.user } : {}) });
  ctx.out(answer.deleted ? `deleted ${key}\n` : `there was no ${key}\n`);
  return answer.deleted ? 0 : 1;
}

function fail(ctx: CommandContext, message: string): number {
  ctx.err(`claude-ext: ${message}\n`);
  return 2;
}

const vault: ExtensionCommand = {
  name: 'vault',
  usage,
  run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (sub === 'set') return set(ctx, rest);
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'delete') return remove(ctx, rest);
    return Promise.resolve(fail(ctx, `usage: claude-ext ${usage}`));
  },
};

export const commands: ExtensionCommand[] = [vault];

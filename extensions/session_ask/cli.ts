import { parseArgs } from 'node:util';
import type { ExtensionCommand } from 'claude-ext/extension';
import type { Ask } from './ask-store.ts';
import { METHODS } from './protocol.ts';

const asks: ExtensionCommand = {
  name: 'asks',
  usage: 'asks [--user U] [--all] [--json]           questions sessions wait on from other sessions (--all: also closed ones and messages)',
  async run(ctx) {
    const { values } = parseArgs({ args: [...ctx.args], options: { user: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } } });
    const list = await ctx.call<Ask[]>(METHODS.list, { ...(values.user ? { user: values.user } : {}), all: values.all === true });
    if (values.json) {
      ctx.out(`${JSON.stringify(list, null, 2)}\n`);
      return 0;
    }
    if (list.length === 0) ctx.out(values.all ? 'no questions\n' : 'no questions waiting\n');
    for (const ask of list) {
      const status = ask.status === 'waiting' ? `waiting until ${ask.expiresAt ?? '?'}` : ask.status;
      ctx.out(`${ask.id}  ${ask.kind}  ${ask.from.user}/${ask.from.name} → ${ask.to.user}/${ask.to.name}  ${status}\n  ${ask.text.split('\n')[0]}\n`);
      if (ask.reason) ctx.out(`  ${ask.reason}\n`);
    }
    return 0;
  },
};

export const commands: ExtensionCommand[] = [asks];

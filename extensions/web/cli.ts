import { parseArgs } from 'node:util';
import type { ExtensionCommand } from 'claude-ext/extension';
import { METHODS } from './protocol.ts';
import type { TokenInfo } from './token-store.ts';

const token: ExtensionCommand = {
  name: 'token',
  usage: 'token create --user U [--name N] | token list [--user U] [--json] | token revoke ID|NAME [--user U]   API tokens of the web extension',
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    const { values, positionals } = parseArgs({ args: rest, options: { user: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true });
    const user = values.user !== undefined ? { user: values.user } : {};
    if (sub === 'create') {
      if (values.user === undefined) {
        ctx.err('claude-ext: token create needs --user U\n');
        return 2;
      }
      const created = await ctx.call<TokenInfo & { token: string }>(METHODS.tokenCreate, { user: values.user, ...(values.name !== undefined ? { name: values.name } : {}) });
      if (values.json) ctx.out(`${JSON.stringify(created, null, 2)}\n`);
      else ctx.out(`${created.token}\ntoken ${created.id} (${created.name}) for user ${created.user}: shown once, keep it safe\n`);
      return 0;
    }
    if (sub === 'list') {
      const list = await ctx.call<TokenInfo[]>(METHODS.tokenList, user);
      if (values.json) ctx.out(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) ctx.out('no tokens\n');
      else for (const t of list) ctx.out(`${t.id}  ${t.user}  ${t.name}  created ${t.createdAt}\n`);
      return 0;
    }
    if (sub === 'revoke' && positionals[0] !== undefined) {
      const revoked = await ctx.call<TokenInfo>(METHODS.tokenRevoke, { ref: positionals[0], ...user });
      ctx.out(`revoked ${revoked.id} (${revoked.name}) of user ${revoked.user}\n`);
      return 0;
    }
    ctx.err(`claude-ext: usage: ${token.usage}\n`);
    return 2;
  },
};

export const commands: ExtensionCommand[] = [token];

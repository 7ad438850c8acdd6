import type { SessionSummary } from '../sessions/session-types.ts';
import { commonOptions, parse, UsageError } from './arguments.ts';
import { usage, type BuiltinCommand } from './builtin-command.ts';
import { withDaemon } from './daemon-connection.ts';
import { sessionTable } from './render.ts';

export const sessionsCommand: BuiltinCommand = {
  name: 'sessions',
  usage: usage('sessions [--user U] [--json]', 'list sessions'),
  async run(ctx) {
    const { values } = parse(ctx.args, commonOptions);
    return withDaemon(ctx, values.config, async (client) => {
      const sessions = await client.call<SessionSummary[]>('session.list', values.user ? { user: values.user } : {});
      ctx.output.out(values.json ? `${JSON.stringify(sessions, null, 2)}\n` : sessionTable(sessions));
      return 0;
    });
  },
};

export const stopCommand: BuiltinCommand = {
  name: 'stop',
  usage: usage('stop SESSION [--clear] [--user U]', 'interrupt the running turn (--clear also drops the queue)'),
  async run(ctx) {
    const { values, positionals } = parse(ctx.args, { ...commonOptions, clear: { type: 'boolean' } }, true);
    const session = oneSession(positionals, 'stop');
    return withDaemon(ctx, values.config, async (client) => {
      const result = await client.call<{ sessionId: string; interruptedPromptId?: string; clearedPrompts: number }>('session.stop', {
        session,
        clear: values.clear === true,
        ...(values.user ? { user: values.user } : {}),
      });
      if (values.json) ctx.output.out(`${JSON.stringify(result)}\n`);
      else {
        const parts = [result.interruptedPromptId ? `interrupted ${result.interruptedPromptId}` : 'nothing was running'];
        if (values.clear) parts.push(`dropped ${result.clearedPrompts} queued prompt${result.clearedPrompts === 1 ? '' : 's'}`);
        ctx.output.out(`${result.sessionId}: ${parts.join('; ')}\n`);
      }
      return 0;
    });
  },
};

export const deleteCommand: BuiltinCommand = {
  name: 'delete',
  usage: usage('delete SESSION [--user U]', 'end a session and remove its files'),
  async run(ctx) {
    const { values, positionals } = parse(ctx.args, commonOptions, true);
    const session = oneSession(positionals, 'delete');
    return withDaemon(ctx, values.config, async (client) => {
      const result = await client.call<{ deleted: string }>('session.delete', { session, ...(values.user ? { user: values.user } : {}) });
      ctx.output.out(values.json ? `${JSON.stringify(result)}\n` : `deleted ${result.deleted}\n`);
      return 0;
    });
  },
};

export const templatesCommand: BuiltinCommand = {
  name: 'templates',
  usage: usage('templates [--all] [--json]', 'session templates (--all includes hidden ones)'),
  async run(ctx) {
    const { values } = parse(ctx.args, { config: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' } });
    return withDaemon(ctx, values.config, async (client) => {
      const list = await client.call<{ name: string; description: string; source: string }[]>('template.list', { hidden: values.all === true });
      if (values.json) ctx.output.out(`${JSON.stringify(list, null, 2)}\n`);
      else for (const t of list) ctx.output.out(`${t.name.padEnd(14)} ${t.description} (${t.source})\n`);
      return 0;
    });
  },
};

function oneSession(positionals: readonly string[], command: string): string {
  const session = positionals[0];
  if (!session || positionals.length > 1) throw new UsageError(`${command} needs exactly one SESSION (id or name)`);
  return session;
}

import type { ApprovalRecord, ApprovalRequest, ApprovalRule } from '../approvals/approval-types.ts';
import { headAndTail, visibleText } from '../approvals/call-text.ts';
import { commonOptions, parse, UsageError } from './arguments.ts';
import { usage, type BuiltinCommand } from './builtin-command.ts';
import { withDaemon } from './daemon-connection.ts';

export const approvalsCommand: BuiltinCommand = {
  name: 'approvals',
  usage: usage('approvals [--user U] [--all] [--json]', 'tool calls waiting for a yes or no (--all: answered ones too)'),
  async run(ctx) {
    const { values } = parse(ctx.args, { ...commonOptions, all: { type: 'boolean' } });
    return withDaemon(ctx, values.config, async (client) => {
      const list = await client.call<(ApprovalRequest & Partial<ApprovalRecord>)[]>('approval.list', { ...(values.user ? { user: values.user } : {}), all: values.all === true });
      if (values.json) ctx.output.out(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) ctx.output.out(values.all ? 'no approvals\n' : 'no tool call waits for an answer\n');
      else {
        for (const a of list) {
          ctx.output.out(`${a.id}  ${shown(a.user)}  ${a.sessionId}  ${a.status ?? 'pending'}  ${shown(a.summary)}\n`);
          if (a.status === undefined || a.status === 'pending') ctx.output.out(`    --session would store: ${shown(a.sessionPattern)}\n    --always would store:  ${shown(a.suggestedPattern)}\n`);
          else if (a.storedPattern) ctx.output.out(`    stored: ${shown(a.storedPattern)}\n`);
        }
      }
      return 0;
    });
  },
};

export const approveCommand: BuiltinCommand = {
  name: 'approve',
  usage: usage('approve ID [--session [--pattern P] | --always PATTERN] [--user U]', 'let a waiting tool call run (once, for the session, or always)'),
  async run(ctx) {
    const { values, positionals } = parse(ctx.args, { ...commonOptions, session: { type: 'boolean' }, always: { type: 'string' }, pattern: { type: 'string' } }, true);
    const id = oneId(positionals, 'approve');
    if (values.session && values.always !== undefined) throw new UsageError('approve takes --session or --always PATTERN, not both');
    if (values.pattern !== undefined && !values.session) throw new UsageError('--pattern goes with --session (--always takes its pattern itself)');
    const scope = values.always !== undefined ? 'always' : values.session ? 'session' : 'once';
    const pattern = values.always ?? values.pattern;
    return withDaemon(ctx, values.config, async (client) => {
      const result = await client.call<object>('approval.answer', { id, decision: 'allow', scope, ...(pattern ? { pattern } : {}), ...(values.user ? { user: values.user } : {}) });
      const stored = scope === 'once' ? undefined : await storedPattern(client, id, values.user);
      if (values.json) ctx.output.out(`${JSON.stringify({ ...result, ...(stored ? { storedPattern: stored } : {}) })}\n`);
      else ctx.output.out(`allowed ${id}${stored ? `; stored the rule ${visibleText(stored)} ${scope === 'session' ? 'for the rest of the session' : 'for all your sessions'}` : ''}\n`);
      return 0;
    });
  },
};

export const denyCommand: BuiltinCommand = {
  name: 'deny',
  usage: usage('deny ID [--message M] [--user U]', 'refuse a waiting tool call (the model reads M)'),
  async run(ctx) {
    const { values, positionals } = parse(ctx.args, { ...commonOptions, message: { type: 'string' } }, true);
    const id = oneId(positionals, 'deny');
    return withDaemon(ctx, values.config, async (client) => {
      const result = await client.call('approval.answer', { id, decision: 'deny', ...(values.message !== undefined ? { message: values.message } : {}), ...(values.user ? { user: values.user } : {}) });
      ctx.output.out(values.json ? `${JSON.stringify(result)}\n` : `denied ${id}\n`);
      return 0;
    });
  },
};

export const rulesCommand: BuiltinCommand = {
  name: 'rules',
  usage: usage('rules list [--user U] [--json] | rules revoke ID [--user U]', 'stored rules that allow tool calls without asking'),
  async run(ctx) {
    const { values, positionals } = parse(ctx.args, commonOptions, true);
    const [action, ...rest] = positionals;
    return withDaemon(ctx, values.config, async (client) => {
      if (action === 'list' && rest.length === 0) {
        const rules = await client.call<ApprovalRule[]>('approval.rules', values.user ? { user: values.user } : {});
        if (values.json) ctx.output.out(`${JSON.stringify(rules, null, 2)}\n`);
        else if (rules.length === 0) ctx.output.out('no rules\n');
        else for (const rule of rules) ctx.output.out(`${rule.id}  ${visibleText(rule.user)}  ${rule.sessionId ? `session ${rule.sessionId}` : 'always'}  ${visibleText(rule.pattern)}\n`);
        return 0;
      }
      if (action === 'revoke' && rest.length === 1) {
        const result = await client.call('approval.revokeRule', { id: rest[0], ...(values.user ? { user: values.user } : {}) });
        ctx.output.out(values.json ? `${JSON.stringify(result)}\n` : `revoked ${rest[0]}\n`);
        return 0;
      }
      throw new UsageError('rules takes `list` or `revoke ID`');
    });
  },
};

/** Text of a call for the terminal: controls escaped, a long one cut in the middle (`--json` has it whole). */
function shown(text: string): string {
  return headAndTail(visibleText(text), 400);
}

/** The rule an answer saved, as the daemon recorded it. */
async function storedPattern(client: { call<T>(method: string, params: object): Promise<T> }, id: string, user: string | undefined): Promise<string | undefined> {
  const history = await client.call<ApprovalRecord[]>('approval.list', { ...(user ? { user } : {}), all: true });
  return history.find((record) => record.id === id)?.storedPattern;
}

function oneId(positionals: readonly string[], command: string): string {
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError(`${command} needs exactly one approval ID (\`claude-ext approvals\` lists them)`);
  return id;
}

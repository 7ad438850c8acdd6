import { parseArgs } from 'node:util';
import type { ExtensionCommand } from 'claude-ext/extension';
import { METHODS, type AnswerAck } from './protocol.ts';
import type { Question } from './question-store.ts';

const questions: ExtensionCommand = {
  name: 'questions',
  usage: 'questions [--user U] [--all] [--json]      questions sessions are waiting on (--all: also closed ones)',
  async run(ctx) {
    const { values } = parseArgs({ args: [...ctx.args], options: { user: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } } });
    const list = await ctx.call<Question[]>(METHODS.list, { ...(values.user ? { user: values.user } : {}), all: values.all === true });
    if (values.json) {
      ctx.out(`${JSON.stringify(list, null, 2)}\n`);
      return 0;
    }
    if (list.length === 0) ctx.out('no open questions\n');
    for (const q of list) {
      ctx.out(`${q.id}  ${q.user}  session ${q.sessionId}  ${q.status === 'open' ? `expires ${q.expiresAt}` : q.status}\n  ${q.question}\n`);
      if (q.options.length > 0) ctx.out(`  options: ${q.options.join(' / ')}\n`);
    }
    return 0;
  },
};

const answer: ExtensionCommand = {
  name: 'answer',
  usage: 'answer ID TEXT [--user U]                  answer a question (TEXT - reads stdin)',
  async run(ctx) {
    const { values, positionals } = parseArgs({ args: [...ctx.args], options: { user: { type: 'string' } }, allowPositionals: true });
    const [id, ...words] = positionals;
    if (!id || words.length === 0) {
      ctx.err('claude-ext: answer needs a question ID and the answer TEXT\n');
      return 2;
    }
    const text = words.length === 1 && words[0] === '-' ? (await ctx.readStdin()).trim() : words.join(' ');
    const result = await ctx.call<AnswerAck>(METHODS.answer, { id, text, ...(values.user ? { user: values.user } : {}) });
    ctx.out(`answered ${result.id}\n`);
    return 0;
  },
};

export const commands: ExtensionCommand[] = [questions, answer];

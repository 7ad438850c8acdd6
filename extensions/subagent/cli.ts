import { parseArgs } from 'node:util';
import type { ExtensionCommand } from 'claude-ext/extension';
import { METHODS, type LeadTree } from './protocol.ts';

const subagents: ExtensionCommand = {
  name: 'subagents',
  usage: 'subagents [--lead S] [--user U] [--json]     leads and their workers, with status and cost',
  async run(ctx) {
    const { values } = parseArgs({ args: [...ctx.args], options: { lead: { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' } } });
    const trees = await ctx.call<LeadTree[]>(METHODS.tree, { ...(values.lead ? { lead: values.lead } : {}), ...(values.user ? { user: values.user } : {}) });
    if (values.json) {
      ctx.out(`${JSON.stringify(trees, null, 2)}\n`);
      return 0;
    }
    if (trees.length === 0) ctx.out('no workers\n');
    for (const tree of trees) {
      const lead = 'gone' in tree.lead ? `${tree.lead.id} (deleted)` : `${tree.lead.name} (${tree.lead.id}, ${tree.lead.user}, ${tree.lead.status})`;
      ctx.out(`${lead}  workers $${tree.costUsd.toFixed(4)}\n`);
      for (const worker of tree.workers) {
        const state = worker.removed ? 'removed, worktree kept' : worker.status;
        const where = worker.branch ? `  ${worker.branch}${worker.merged ? ' (merged)' : ''}` : '';
        ctx.out(`  ${worker.id}  ${worker.name}  ${worker.paradigm}  ${state}  $${worker.costUsd.toFixed(4)}${where}\n`);
      }
    }
    return 0;
  },
};

export const commands: ExtensionCommand[] = [subagents];

import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { METHODS, type DeleteResult, type RunResult } from './protocol.ts';

const key = z.string().describe('A path such as github/token');

/** The tools sessions get to keep and use credentials; served by the daemon. */
export const tools = [
  defineTool({
    name: 'vault_store',
    description: 'Store a credential in the user\'s encrypted vault. It can later be used with vault_run; it can never be read back.',
    input: { key, value: z.string().min(1).describe('The secret'), tags: z.array(z.string()).optional().describe('Labels for vault_list') },
    // Not marked idempotent although it is: the daemon keeps the arguments of calls it may re-run
    // after a restart on disk while they run, and a secret must never be written there.
    annotations: { destructiveHint: true },
    handler: async ({ key: name, value, tags }, ctx) => {
      await ctx.bridge.call(METHODS.store, { key: name, value, ...(tags ? { tags } : {}) }, { signal: ctx.signal });
      return `stored ${name}`;
    },
  }),
  defineTool({
    name: 'vault_list',
    description: 'List the keys (and tags) in the user\'s vault. Values are never shown.',
    input: { tag: z.string().optional().describe('Only keys with this tag') },
    annotations: { readOnlyHint: true },
    handler: async ({ tag }, ctx) => ctx.bridge.call(METHODS.list, tag ? { tag } : {}, { idempotent: true, signal: ctx.signal }),
  }),
  defineTool({
    name: 'vault_delete',
    description: 'Delete a credential from the user\'s vault.',
    input: { key },
    annotations: { destructiveHint: true, idempotentHint: true },
    handler: async ({ key: name }, ctx) => {
      const answer = await ctx.bridge.call<DeleteResult>(METHODS.delete, { key: name }, { idempotent: true, signal: ctx.signal });
      return answer.deleted ? `deleted ${name}` : `there was no ${name}`;
    },
  }),
  defineTool({
    name: 'vault_run',
    description:
      'Run a shell command in the session\'s working directory with vault secrets as environment variables, e.g. ' +
      'command "gh api user" with env {"GH_TOKEN": "vault:github/token"}. Secret values are removed from the output.',
    input: {
      command: z.string().min(1).describe('A shell command (sh -c)'),
      env: z.record(z.string(), z.string()).optional().describe('Variable name to "vault:<key>"'),
    },
    annotations: { destructiveHint: true, openWorldHint: true },
    handler: async ({ command, env }, ctx) => {
      const result = await ctx.bridge.call<RunResult>(METHODS.run, { command, env: env ?? {} }, { signal: ctx.signal });
      const parts = [`exit code: ${result.exitCode ?? 'none'}${result.timedOut ? ' (timed out)' : ''}${result.truncated ? ' (output cut)' : ''}`];
      if (result.stdout) parts.push(`stdout:\n${result.stdout}`);
      if (result.stderr) parts.push(`stderr:\n${result.stderr}`);
      return parts.join('\n');
    },
  }),
];


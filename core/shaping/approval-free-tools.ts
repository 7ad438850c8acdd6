import type { SessionServer } from '../extension-host/contributions.ts';

/**
 * The daemon's own tools a session in approve mode may call without asking a person: those marked
 * read-only (`readOnlyHint`) and those their server names in `withoutApproval` (they touch only the
 * daemon's records of the session's own user). Everything else, a shell behind a tool, work handed
 * to other sessions, a stdio server the daemon cannot look into, is put to a person like any call.
 * In gateway mode a server offers one tool for all its commands: it is free only when they all are.
 */
export function approvalFreeTools(servers: readonly SessionServer[], gateway: boolean): string[] {
  const names: string[] = [];
  for (const server of servers) {
    if (server.serve.kind !== 'tools') continue;
    const { tools, withoutApproval = [] } = server.serve.spec;
    const free = tools.filter((tool) => tool.annotations?.readOnlyHint === true || withoutApproval.includes(tool.name));
    if (gateway) {
      if (free.length === tools.length) names.push(`mcp__${server.name}`);
    } else {
      names.push(...free.map((tool) => `mcp__${server.name}__${tool.name}`));
    }
  }
  return names;
}

import type { ExtensionContext } from 'claude-ext/extension';
import { workerInstructions } from './paradigms.ts';
import type { Worker } from './worker-store.ts';

type TemplateSpec = Parameters<ExtensionContext['addTemplate']>[0];

export function templateName(workerId: string): string {
  return `subagent-${workerId}`;
}

/**
 * A worker's own template: its paradigm's instructions and tool limits, without the subagent server
 * unless nesting is allowed, and with the repository's git directory writable when it has a worktree.
 */
export function workerTemplate(worker: Omit<Worker, 'sessionId'>, server: string, allowNesting: boolean): TemplateSpec {
  const { role } = worker;
  return {
    name: templateName(worker.id),
    description: `worker ${worker.name} (${worker.paradigm}) of session ${worker.lead}`,
    visibility: 'hidden',
    systemPrompt: workerInstructions(worker.paradigm, role),
    ...(role.model ? { model: role.model } : {}),
    ...(role.tools ? { tools: [...role.tools] } : {}),
    ...(role.disallowedTools ? { disallowedTools: [...role.disallowedTools] } : {}),
    ...(allowNesting ? {} : { excludeMcpServers: [server] }),
    ...(worker.worktree ? { sandbox: { readable: [], writable: [worker.worktree.gitDir] } } : {}),
  };
}

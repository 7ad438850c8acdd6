/** Paradigms: named roles a worker is built from, each a template with its tool limits and instructions. */
import { z } from 'zod';

export interface Paradigm {
  readonly description: string;
  readonly instructions: string;
  /** Allowlist of built-in tools; absent: every tool. */
  readonly tools?: readonly string[];
  readonly disallowedTools?: readonly string[];
  readonly model?: string;
}

export const paradigmConfig = z.strictObject({
  description: z.string().min(1),
  instructions: z.string().min(1),
  tools: z.array(z.string().min(1).regex(/^[^,]+$/)).optional(),
  disallowed_tools: z.array(z.string().min(1).regex(/^[^,]+$/)).optional(),
  model: z.string().min(1).optional(),
});
export type ParadigmConfig = z.output<typeof paradigmConfig>;

const WORKER_RULES =
  'You are a worker session started by a lead session, which reads your final answer. ' +
  'Do the task you are given and nothing else; end with a short report of what you did, what you changed, and what you could not do.';

const COMMIT_RULE = 'When you work in a git worktree, commit your changes on its branch before you finish: the lead merges your commits, not uncommitted files.';

export const BUILT_IN_PARADIGMS: Readonly<Record<string, Paradigm>> = {
  coder: {
    description: 'Writes and changes code, with every tool',
    instructions: `Read the relevant code before changing it, follow its conventions, keep the change as small as the task allows and run the tests that cover it. ${COMMIT_RULE}`,
  },
  reviewer: {
    description: 'Reviews code and reports findings; cannot edit files or run commands',
    instructions: 'Review the code the task names. Point to the exact file and line of each problem, explain why it matters and suggest a fix; rank findings by severity.',
    tools: ['Read', 'Grep', 'Glob', 'TodoWrite'],
    disallowedTools: ['Edit', 'Write', 'MultiEdit', 'NotebookEdit', 'Bash'],
  },
  researcher: {
    description: 'Investigates a question; may run commands but does not edit files',
    instructions: 'Read code and documents and run commands to check facts. Report what you found with the evidence for it. Do not modify files.',
    disallowedTools: ['Edit', 'Write', 'MultiEdit', 'NotebookEdit'],
  },
  tester: {
    description: 'Writes and runs tests, and reports failures',
    instructions: `Write or extend tests for what the task names, run them, and report each failure with the command that shows it. Change code under test only when the task says so. ${COMMIT_RULE}`,
  },
};

export function paradigmsFrom(configured: Readonly<Record<string, ParadigmConfig>>): Map<string, Paradigm> {
  const all = new Map<string, Paradigm>(Object.entries(BUILT_IN_PARADIGMS));
  for (const [name, p] of Object.entries(configured)) {
    all.set(name, {
      description: p.description,
      instructions: p.instructions,
      ...(p.tools ? { tools: p.tools } : {}),
      ...(p.disallowed_tools ? { disallowedTools: p.disallowed_tools } : {}),
      ...(p.model ? { model: p.model } : {}),
    });
  }
  return all;
}

/** The system prompt of a worker of this paradigm. */
export function workerInstructions(name: string, paradigm: Paradigm): string {
  return `${WORKER_RULES}\n\nYour role: ${name}. ${paradigm.instructions}`;
}

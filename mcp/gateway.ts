import { z } from 'zod';
import { defineTool, type ObjectSchema, type Tool } from './tool.ts';

/** The action that lists the commands instead of running one. */
export const HELP_ACTION = 'help';

/** How `help` describes one command. */
export interface CommandHelp {
  readonly action: string;
  readonly description: string;
  /** JSON Schema of the `params` object. */
  readonly params: Record<string, unknown>;
}

/**
 * One tool named after the server that runs any of `commands` by name: `{ action, params }`. It keeps
 * the model's tool list short; `{ action: "help" }` tells it what each command does and takes.
 */
export function gatewayTool(serverName: string, commands: readonly Tool[]): Tool {
  const byAction = new Map(commands.map((command) => [command.name, command]));
  if (byAction.has(HELP_ACTION)) throw new Error(`${serverName}: no command may be named "${HELP_ACTION}" in gateway mode, the gateway answers it`);
  const actions = [HELP_ACTION, ...byAction.keys()];
  return defineTool({
    name: serverName,
    description:
      `Runs one of the ${serverName} commands: ${[...byAction.keys()].join(', ')}. ` +
      `Call it with {"action": "${HELP_ACTION}"} first to learn what each command does and which params it takes.`,
    input: {
      action: z.string().describe(`The command to run, or "${HELP_ACTION}" to list them`),
      params: z.record(z.string(), z.unknown()).optional().describe("The command's parameters, as listed by help"),
    },
    handler: async ({ action, params }, ctx) => {
      if (action === HELP_ACTION) return { commands: commands.map(describeCommand) };
      const command = byAction.get(action);
      if (!command) throw new Error(`${serverName}: unknown action "${action}"; valid actions: ${actions.join(', ')}`);
      const parsed = command.schema.safeParse(params ?? {});
      if (!parsed.success) throw new Error(`${serverName} ${action}: invalid params: ${describeIssues(parsed.error)}`);
      return command.run(parsed.data, ctx);
    },
  });
}

function describeCommand(command: Tool): CommandHelp {
  return { action: command.name, description: command.description, params: paramsSchema(command.schema) };
}

function paramsSchema(schema: ObjectSchema): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message)).join('; ');
}

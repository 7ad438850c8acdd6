import { approvalsCommand, approveCommand, denyCommand, rulesCommand } from './approval-commands.ts';
import type { BuiltinCommand } from './builtin-command.ts';
import { doctorCommand, reloadCommand, startCommand, statusCommand } from './daemon-commands.ts';
import { promptCommand, waitCommand } from './prompt-commands.ts';
import { deleteCommand, sessionsCommand, stopCommand, templatesCommand } from './session-commands.ts';
import { usageCommand } from './usage-commands.ts';

/** The CLI's own commands, in the order `claude-ext help` lists them. */
export const BUILTIN_COMMANDS: readonly BuiltinCommand[] = [
  startCommand,
  promptCommand,
  waitCommand,
  sessionsCommand,
  stopCommand,
  deleteCommand,
  approvalsCommand,
  approveCommand,
  denyCommand,
  rulesCommand,
  statusCommand,
  usageCommand,
  templatesCommand,
  reloadCommand,
  doctorCommand,
];

export function builtinCommand(name: string): BuiltinCommand | undefined {
  return BUILTIN_COMMANDS.find((command) => command.name === name);
}

import type { PromptOptions } from '../session-types.ts';

/** The CLI's own modes, and `approve`: the CLI asks the daemon (`default` with `--permission-prompt-tool stdio`). */
export type PermissionMode = 'acceptEdits' | 'bypassPermissions' | 'default' | 'dontAsk' | 'plan' | 'approve';

export interface ClaudeArgsSettings {
  readonly permissionMode: PermissionMode;
  readonly model: string | null;
  readonly partialMessages: boolean;
  readonly extraArgs: readonly string[];
}

/**
 * The arguments of a warm session process, without the conversation flag. They are passed as an
 * argument vector: no value here ever reaches a shell unquoted.
 */
export function warmProcessArgs(
  settings: ClaudeArgsSettings,
  options: PromptOptions,
  added: { readonly args: readonly string[]; readonly systemPrompt: readonly string[]; readonly model?: string; readonly permissionMode?: PermissionMode } = { args: [], systemPrompt: [] },
): string[] {
  const args = ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose'];
  if (settings.partialMessages) args.push('--include-partial-messages');
  const permissionMode = added.permissionMode ?? settings.permissionMode;
  if (permissionMode === 'approve') args.push('--permission-mode', 'default', '--permission-prompt-tool', 'stdio');
  else args.push('--permission-mode', permissionMode);
  const model = options.model ?? added.model ?? settings.model;
  if (model) args.push('--model', model);
  const systemPrompt = [...added.systemPrompt, ...(options.appendSystemPrompt ? [options.appendSystemPrompt] : [])].join('\n\n');
  if (systemPrompt) args.push('--append-system-prompt', systemPrompt);
  if (options.jsonSchema) args.push('--json-schema', JSON.stringify(options.jsonSchema));
  if (options.maxTurns !== undefined) args.push('--max-turns', String(options.maxTurns));
  args.push(...added.args, ...settings.extraArgs);
  return args;
}

/** `--session-id` for a conversation the CLI has never stored, `--resume` for one it has. */
export function conversationArgs(conversationId: string, stored: boolean): string[] {
  return stored ? ['--resume', conversationId] : ['--session-id', conversationId];
}

/** A user turn and an interrupt, as lines of the CLI's stream-json input. */
/** A prompt for the CLI's input; context for it goes first, as its own block of the same message. */
export function userTurnLine(text: string, context: readonly string[] = []): string {
  const content = context.length === 0 ? text : [{ type: 'text', text: context.join('\n\n') }, { type: 'text', text }];
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content } })}\n`;
}

/** The answer to the CLI's `can_use_tool` request, as a line of its input. */
export function permissionResponseLine(requestId: string, answer: PermissionAnswer): string {
  return `${JSON.stringify({ type: 'control_response', response: { subtype: 'success', request_id: requestId, response: answer } })}\n`;
}

export type PermissionAnswer = { readonly behavior: 'allow'; readonly updatedInput: unknown } | { readonly behavior: 'deny'; readonly message: string };

export function interruptLine(requestId: string): string {
  return `${JSON.stringify({ type: 'control_request', request_id: requestId, request: { subtype: 'interrupt' } })}\n`;
}

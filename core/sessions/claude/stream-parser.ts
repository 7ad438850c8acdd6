import type { StreamEvent, TurnUsage } from '../events.ts';

export class MalformedLineError extends Error {
  constructor(
    readonly line: string,
    reason: string,
  ) {
    super(`malformed stream line (${reason}): ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
    this.name = 'MalformedLineError';
  }
}

type Json = Record<string, unknown>;

/**
 * Turns one line of the CLI's stream-json output into the events it carries. Lines the engine has no
 * use for (status, retries, hooks) give no events; a line that is not a JSON object throws.
 */
export function parseStreamLine(line: string): StreamEvent[] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new MalformedLineError(line, (error as Error).message);
  }
  if (!isObject(value) || typeof value.type !== 'string') throw new MalformedLineError(line, 'not an object with a type');
  switch (value.type) {
    case 'system':
      if (value.subtype === 'init') return [initEvent(value)];
      return value.subtype === 'compact_boundary' ? [compactEvent(value)] : [];
    case 'assistant':
      return assistantEvents(value);
    case 'user':
      return toolResultEvents(value);
    case 'stream_event':
      return partialEvents(value);
    case 'result':
      return [resultEvent(value)];
    case 'control_response':
      return controlResponse(value);
    case 'control_request':
      return controlRequest(value);
    case 'control_cancel_request':
      return typeof value.request_id === 'string' ? [{ type: 'control_cancel', requestId: value.request_id }] : [];
    default:
      return [];
  }
}

function initEvent(line: Json): StreamEvent {
  const servers = Array.isArray(line.mcp_servers) ? line.mcp_servers.filter(isObject) : [];
  return {
    type: 'init',
    model: str(line.model),
    tools: Array.isArray(line.tools) ? line.tools.filter((t): t is string => typeof t === 'string') : [],
    mcpServers: servers.map((s) => ({ name: str(s.name), status: str(s.status) })),
    cwd: str(line.cwd),
  };
}

function compactEvent(line: Json): StreamEvent {
  const metadata = isObject(line.compact_metadata) ? line.compact_metadata : {};
  return { type: 'compacted', trigger: str(metadata.trigger), preTokens: num(metadata.pre_tokens) };
}

function assistantEvents(line: Json): StreamEvent[] {
  if (isSubagentLine(line)) return [];
  const content = isObject(line.message) && Array.isArray(line.message.content) ? line.message.content.filter(isObject) : [];
  const usage = isObject(line.message) && isObject(line.message.usage) ? line.message.usage : undefined;
  const contextUsed: StreamEvent[] = usage
    ? [{ type: 'context_used', tokens: num(usage.input_tokens) + num(usage.cache_read_input_tokens) + num(usage.cache_creation_input_tokens) }]
    : [];
  return contextUsed.concat(content.flatMap((block): StreamEvent[] => {
    if (block.type === 'text') return [{ type: 'text', text: str(block.text), partial: false }];
    if (block.type === 'thinking') return [{ type: 'thinking', text: str(block.thinking), partial: false }];
    if (block.type === 'tool_use') return [{ type: 'tool_use', toolUseId: str(block.id), name: str(block.name), input: boundedDepth(block.input ?? {}, MAX_INPUT_DEPTH) }];
    return [];
  }));
}

/** How the CLI reports a tool call whose MCP connection dropped (a daemon restart) and that it gave up on. */
const LOST_CALL = /^MCP server "([^"]+)" transport dropped mid-call; response for tool "([^"]+)" was lost/;

function toolResultEvents(line: Json): StreamEvent[] {
  if (isSubagentLine(line)) return [];
  const content = isObject(line.message) && Array.isArray(line.message.content) ? line.message.content.filter(isObject) : [];
  return content.flatMap((block): StreamEvent[] => {
    if (block.type !== 'tool_result') return [];
    const result: StreamEvent = { type: 'tool_result', toolUseId: str(block.tool_use_id), content: toolResultText(block.content), isError: block.is_error === true };
    const lost = result.isError ? LOST_CALL.exec(result.content) : null;
    return lost ? [result, { type: 'tool_call_lost', server: lost[1] ?? '', tool: lost[2] ?? '' }] : [result];
  });
}

function partialEvents(line: Json): StreamEvent[] {
  if (isSubagentLine(line) || !isObject(line.event) || line.event.type !== 'content_block_delta') return [];
  const delta = line.event.delta;
  if (!isObject(delta)) return [];
  if (delta.type === 'text_delta') return [{ type: 'text', text: str(delta.text), partial: true }];
  if (delta.type === 'thinking_delta') return [{ type: 'thinking', text: str(delta.thinking), partial: true }];
  return [];
}

function resultEvent(line: Json): StreamEvent {
  const usage = isObject(line.usage) ? line.usage : {};
  const tokens: TurnUsage = {
    inputTokens: num(usage.input_tokens),
    outputTokens: num(usage.output_tokens),
    cacheReadInputTokens: num(usage.cache_read_input_tokens),
    cacheCreationInputTokens: num(usage.cache_creation_input_tokens),
  };
  const errors = Array.isArray(line.errors) ? line.errors.filter((e): e is string => typeof e === 'string') : [];
  const contextWindow = largestContextWindow(line.modelUsage);
  return {
    type: 'cli_result',
    subtype: str(line.subtype),
    isError: line.is_error === true,
    text: typeof line.result === 'string' ? line.result : errors.join('\n'),
    totalCostUsd: num(line.total_cost_usd),
    durationMs: num(line.duration_ms),
    numTurns: num(line.num_turns),
    usage: tokens,
    ...(line.structured_output !== undefined ? { structuredOutput: line.structured_output } : {}),
    ...(contextWindow > 0 ? { contextWindow } : {}),
  };
}

/** The result's per-model usage names each model's context window; the main model's is the largest. */
function largestContextWindow(modelUsage: unknown): number {
  if (!isObject(modelUsage)) return 0;
  return Math.max(0, ...Object.values(modelUsage).map((usage) => (isObject(usage) ? num(usage.contextWindow) : 0)));
}

function controlResponse(line: Json): StreamEvent[] {
  const response = isObject(line.response) ? line.response : undefined;
  if (!response || typeof response.request_id !== 'string') return [];
  return [{ type: 'control_response', requestId: response.request_id, ok: response.subtype === 'success' }];
}

/** A `can_use_tool` request: the CLI waits for a `control_response` on its input before it runs the tool. */
function controlRequest(line: Json): StreamEvent[] {
  const request = isObject(line.request) ? line.request : undefined;
  if (!request || request.subtype !== 'can_use_tool' || typeof line.request_id !== 'string') return [];
  return [{
    type: 'permission_request',
    requestId: line.request_id,
    tool: str(request.tool_name),
    input: boundedDepth(request.input ?? {}, MAX_INPUT_DEPTH),
    toolUseId: str(request.tool_use_id),
    suggestedRules: suggestedRules(request.permission_suggestions),
  }];
}

/** The allow rules the CLI suggests, as `Tool(content)` patterns. */
function suggestedRules(suggestions: unknown): string[] {
  if (!Array.isArray(suggestions)) return [];
  return suggestions
    .filter(isObject)
    .filter((suggestion) => suggestion.type === 'addRules' && suggestion.behavior === 'allow' && Array.isArray(suggestion.rules))
    .flatMap((suggestion) => (suggestion.rules as unknown[]).filter(isObject))
    .filter((rule) => typeof rule.toolName === 'string' && rule.toolName !== '')
    .map((rule) => (typeof rule.ruleContent === 'string' && rule.ruleContent !== '' ? `${str(rule.toolName)}(${rule.ruleContent})` : str(rule.toolName)));
}

/** Lines from a sub-agent's own conversation carry the id of the tool call that started it. */
function isSubagentLine(line: Json): boolean {
  return typeof line.parent_tool_use_id === 'string';
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isObject)
    .map((block) => (block.type === 'text' ? str(block.text) : `[${str(block.type)}]`))
    .join('\n');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Deeper than this, a tool input is cut (JSON.stringify, used by every consumer of events, recurses). */
const MAX_INPUT_DEPTH = 64;

/** `value` with whatever lies deeper than `maxDepth` replaced by a note; walked without recursion. */
export function boundedDepth(value: unknown, maxDepth: number): unknown {
  if (!value || typeof value !== 'object') return value;
  const copy: unknown = Array.isArray(value) ? [...value] : { ...value };
  const pending: { container: Record<string, unknown>; depth: number }[] = [{ container: copy as Record<string, unknown>, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    for (const key of Object.keys(next.container)) {
      const child = next.container[key];
      if (!child || typeof child !== 'object') continue;
      if (next.depth >= maxDepth) {
        next.container[key] = `[nested deeper than ${maxDepth} levels: cut]`;
        continue;
      }
      const childCopy = Array.isArray(child) ? [...child] : { ...child };
      next.container[key] = childCopy;
      pending.push({ container: childCopy as Record<string, unknown>, depth: next.depth + 1 });
    }
  }
  return copy;
}

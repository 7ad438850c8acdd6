import { z } from 'zod';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { ToolContext } from './tool-context.ts';

/** What a handler answers: a string is sent as text, anything else as JSON text. */
export type ToolOutput = string | object;

export type ObjectSchema = z.ZodObject<z.ZodRawShape, z.core.$ZodObjectConfig>;

/** A tool's input: the fields of an object (`{ key: z.string() }`) or the object schema itself. */
export type ToolInput = z.ZodRawShape | ObjectSchema;

export type ToolArgs<Input extends ToolInput> = Input extends ObjectSchema
  ? z.output<Input>
  : Input extends z.ZodRawShape
    ? z.output<z.ZodObject<Input>>
    : never;

export interface ToolDefinition<Input extends ToolInput> {
  /** Letters, digits, `_` and `-`; the model sees it as `mcp__<server>__<name>`. */
  readonly name: string;
  readonly description: string;
  /** Checked before the handler runs; `.describe()` on a field documents it for the model. */
  readonly input: Input;
  /** Hints for the client: `readOnlyHint`, `idempotentHint`, `destructiveHint`, `openWorldHint`. */
  readonly annotations?: ToolAnnotations;
  readonly handler: (args: ToolArgs<Input>, ctx: ToolContext) => ToolOutput | Promise<ToolOutput>;
}

/** A defined tool, its argument type erased so that tools of any input can be served together. */
export interface Tool {
  readonly name: string;
  readonly description: string;
  readonly schema: ObjectSchema;
  readonly annotations?: ToolAnnotations;
  /** Runs the handler on arguments that `schema` has already accepted (and transformed). */
  readonly run: (args: unknown, ctx: ToolContext) => Promise<ToolOutput>;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function defineTool<Input extends ToolInput>(definition: ToolDefinition<Input>): Tool {
  if (!TOOL_NAME.test(definition.name)) {
    throw new Error(`invalid tool name "${definition.name}": use 1 to 64 letters, digits, "_" or "-"`);
  }
  const schema = toObjectSchema(definition.input);
  return {
    name: definition.name,
    description: definition.description,
    schema,
    ...(definition.annotations ? { annotations: definition.annotations } : {}),
    // The cast is the erasure: callers only pass what `schema` produced, which is ToolArgs<Input>.
    run: async (args, ctx) => definition.handler(args as ToolArgs<Input>, ctx),
  };
}

function toObjectSchema(input: ToolInput): ObjectSchema {
  return input instanceof z.ZodObject ? input : z.object(input);
}

/** Runs a tool and turns its answer, or its failure, into an MCP result; it never throws. */
export async function invokeTool(tool: Tool, args: unknown, ctx: ToolContext): Promise<CallToolResult> {
  try {
    return outputResult(await tool.run(args, ctx));
  } catch (error) {
    return errorResult(error);
  }
}

function outputResult(output: ToolOutput): CallToolResult {
  const text = typeof output === 'string' ? output : (JSON.stringify(output, null, 2) ?? '');
  return { content: [{ type: 'text', text }] };
}

function errorResult(error: unknown): CallToolResult {
  const message = error instanceof Error ? error.message : String(error);
  return { content: [{ type: 'text', text: message }], isError: true };
}

import crypto from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { BRIDGE_ENV } from '../core/bridge/bridge-protocol.ts';
import { BridgeClient } from './bridge-client.ts';
import { gatewayTool } from './gateway.ts';
import { invokeTool, type Tool } from './tool.ts';
import { envToolContext, LazyBridge, type ToolContext } from './tool-context.ts';

/** What an MCP server of tools is, wherever it is served. */
export interface ToolServerShape {
  /** The server's name; in gateway mode also the name of its single tool. */
  readonly name: string;
  readonly version?: string;
  readonly tools: readonly Tool[];
  /** Told to the model once, on how to use the server's tools together. */
  readonly instructions?: string;
  /** Serve one `{ action, params }` tool instead of one tool per command. */
  readonly gateway: boolean;
}

export interface McpServerOptions extends Omit<ToolServerShape, 'gateway'> {
  /** Defaults to CLAUDE_EXT_GATEWAY = "1". */
  readonly gateway?: boolean;
  /** Where the session's variables are read; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Makes the bridge client on first use; defaults to BridgeClient.fromEnv(env). */
  readonly bridge?: () => BridgeClient;
}

/** What `buildToolServer` knows of one call when it asks for the call's ToolContext. */
export interface CallInfo {
  /** Aborted when the client cancels the call. */
  readonly signal: AbortSignal;
  /** The client's tool-use id when it sends one, else a random id. */
  readonly callId: string;
}

/**
 * An MCP server offering `shape`'s tools; each call's handler gets the context `contextFor` makes
 * for the call. Throws when two tools share a name.
 */
export function buildToolServer(shape: ToolServerShape, contextFor: (call: CallInfo) => ToolContext): McpServer {
  checkUniqueNames(shape.name, shape.tools);
  const served = shape.gateway ? [gatewayTool(shape.name, shape.tools)] : shape.tools;
  const server = new McpServer(
    { name: shape.name, version: shape.version ?? '0.0.0' },
    { jsonSchemaValidator: sharedValidator(), ...(shape.instructions === undefined ? {} : { instructions: shape.instructions }) },
  );
  for (const tool of served) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.schema, ...(tool.annotations ? { annotations: tool.annotations } : {}) },
      (args, extra) => invokeTool(tool, args, contextFor({ signal: extra.signal, callId: clientCallId(extra._meta) ?? crypto.randomUUID() })),
    );
  }
  return server;
}

/** Builds a stdio server's McpServer without connecting it; closing it also closes its bridge client. */
export function createMcpServer(options: McpServerOptions): McpServer {
  const env = options.env ?? process.env;
  const bridge = new LazyBridge(options.bridge ?? (() => BridgeClient.fromEnv(env)));
  const gateway = options.gateway ?? env[BRIDGE_ENV.gateway] === '1';
  const server = buildToolServer({ ...options, gateway }, (call) => envToolContext(env, bridge, call.signal, call.callId));
  server.server.onclose = () => bridge.close();
  return server;
}

/**
 * Serves the tools over stdin and stdout, as the `claude` CLI expects of the servers in its
 * --mcp-config. The process exits once the CLI closes stdin. Nothing else may write to stdout.
 */
export async function runMcpServer(options: McpServerOptions): Promise<McpServer> {
  const server = createMcpServer(options);
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => void server.close());
  return server;
}

let validator: AjvJsonSchemaValidator | undefined;

/** One validator for every server: building one costs about a millisecond, and the daemon builds a server per request. */
function sharedValidator(): AjvJsonSchemaValidator {
  validator ??= new AjvJsonSchemaValidator();
  return validator;
}

/** The Claude Code CLI names each call by the model's tool-use id. */
function clientCallId(meta: Record<string, unknown> | undefined): string | undefined {
  const id = meta?.['claudecode/toolUseId'];
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

function checkUniqueNames(serverName: string, tools: readonly Tool[]): void {
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name)) throw new Error(`${serverName}: two tools are named "${tool.name}"`);
    seen.add(tool.name);
  }
}

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { BRIDGE_ENV } from '../core/bridge-protocol.ts';
import { BridgeClient } from './bridge-client.ts';
import { gatewayTool } from './gateway.ts';
import { invokeTool, type Tool } from './tool.ts';
import { LazyBridge, toolContext } from './tool-context.ts';

export interface McpServerOptions {
  /** The server's name; in gateway mode also the name of its single tool. */
  readonly name: string;
  readonly version?: string;
  readonly tools: readonly Tool[];
  /** Told to the model once, on how to use the server's tools together. */
  readonly instructions?: string;
  /** Serve one `{ action, params }` tool instead of one tool per command; defaults to CLAUDE_EXT_GATEWAY = "1". */
  readonly gateway?: boolean;
  /** Where the session's variables are read; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Makes the bridge client on first use; defaults to BridgeClient.fromEnv(env). */
  readonly bridge?: () => BridgeClient;
}

/** Builds the server without connecting it; closing it also closes its bridge client. */
export function createMcpServer(options: McpServerOptions): McpServer {
  const env = options.env ?? process.env;
  const bridge = new LazyBridge(options.bridge ?? (() => BridgeClient.fromEnv(env)));
  const gateway = options.gateway ?? env[BRIDGE_ENV.gateway] === '1';
  checkUniqueNames(options.name, options.tools);
  const served = gateway ? [gatewayTool(options.name, options.tools)] : options.tools;

  const server = new McpServer(
    { name: options.name, version: options.version ?? '0.0.0' },
    options.instructions === undefined ? {} : { instructions: options.instructions },
  );
  for (const tool of served) {
    server.registerTool(tool.name, { description: tool.description, inputSchema: tool.schema }, (args, extra) =>
      invokeTool(tool, args, toolContext(env, bridge, extra.signal)),
    );
  }
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

function checkUniqueNames(serverName: string, tools: readonly Tool[]): void {
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name)) throw new Error(`${serverName}: two tools are named "${tool.name}"`);
    seen.add(tool.name);
  }
}

/** Helpers for writing a claude-ext extension's MCP server: tools, the server, and the bridge to the daemon. */
export { BridgeClient, type BridgeCallOptions, type BridgeClientOptions } from './bridge-client.ts';
export { BridgeClosedError, BridgeEnvError, BridgeRestartedError, BridgeUnavailableError } from './bridge-errors.ts';
export { DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from './backoff.ts';
export { HELP_ACTION, type CommandHelp } from './gateway.ts';
export { createMcpServer, runMcpServer, type McpServerOptions } from './server.ts';
export { defineTool, type Tool, type ToolArgs, type ToolDefinition, type ToolInput, type ToolOutput } from './tool.ts';
export type { BridgeCaller, ToolContext } from './tool-context.ts';
export { RpcError, RpcErrorCode, RpcConnectionError } from '../core/bridge/rpc-protocol.ts';

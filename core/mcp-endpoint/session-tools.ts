import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { gatewayTool } from '../../mcp/gateway.ts';
import { buildToolServer } from '../../mcp/server.ts';
import { invokeTool, type Tool } from '../../mcp/tool.ts';
import type { BridgeCaller, ToolContext } from '../../mcp/tool-context.ts';
import type { Principal } from '../bridge/bridge-protocol.ts';
import type { ToolServerSpec } from '../extension-host/extension-api.ts';
import { toErrorObject } from '../bridge/error-answer.ts';
import { RpcConnectionError, RpcError } from '../bridge/rpc-protocol.ts';
import type { SessionSummary } from '../sessions/session-types.ts';
import { isDenied, type ServerGrant } from './tool-grants.ts';

/** Runs a bridge method in the daemon exactly as a socket call from `principal` would run. */
export type InProcessDispatch = (
  method: string,
  params: unknown,
  options: { principal: Principal; signal: AbortSignal; onProgress?: (data: unknown) => void },
) => Promise<unknown>;

/** One extension's tools as one session is served them. */
export interface SessionToolsOptions {
  readonly spec: ToolServerSpec;
  readonly owner: string;
  readonly grant: ServerGrant;
  readonly session: SessionSummary;
  readonly stateDir: string;
  readonly gateway: boolean;
  readonly dispatch: InProcessDispatch;
}

/** The MCP server one session sees for one extension's tools: its granted tools, acting as it. */
export function sessionToolServer(options: SessionToolsOptions, call: { readonly cancelled: AbortSignal; readonly callId: string }): McpServer {
  const { spec } = options;
  const tools = grantedTools(spec, options.grant);
  return buildToolServer({ name: spec.server, tools, gateway: options.gateway, ...(spec.instructions ? { instructions: spec.instructions } : {}) }, (info) =>
    sessionToolContext(options, AbortSignal.any([info.signal, call.cancelled]), call.callId),
  );
}

/** Whether a call of `toolName` may run twice: its tool is annotated idempotent or read-only. */
export function mayRunAgain(options: SessionToolsOptions, toolName: string, args: unknown): boolean {
  const tools = grantedTools(options.spec, options.grant);
  const name = options.gateway && toolName === options.spec.server ? (args as { action?: unknown } | undefined)?.action : toolName;
  const target = tools.find((tool) => tool.name === name);
  return Boolean(target?.annotations?.idempotentHint || target?.annotations?.readOnlyHint);
}

/**
 * Runs one call again after a daemon restart, if the tool may run twice (`idempotentHint` or
 * `readOnlyHint`); otherwise says that the call's effect is unknown. Never throws.
 */
export async function rerunToolCall(options: SessionToolsOptions, call: { tool: string; arguments: unknown; callId: string; signal: AbortSignal }): Promise<CallToolResult> {
  const tools = grantedTools(options.spec, options.grant);
  const served = options.gateway ? gatewayTool(options.spec.server, tools) : tools.find((tool) => tool.name === call.tool);
  if (!served || served.name !== call.tool) return failure(`${options.spec.server} has no tool ${call.tool} for this session any more`);
  if (!mayRunAgain(options, call.tool, call.arguments)) {
    return failure(`the daemon restarted while ${call.tool} ran; it may or may not have taken effect: check before calling it again`);
  }
  const parsed = served.schema.safeParse(call.arguments ?? {});
  if (!parsed.success) return failure(`${call.tool}: invalid arguments: ${parsed.error.message}`);
  return invokeTool(served, parsed.data, sessionToolContext(options, call.signal, call.callId));
}

function grantedTools(spec: ToolServerSpec, grant: ServerGrant): Tool[] {
  return spec.tools.filter((tool) => !isDenied(grant, tool.name));
}

function sessionToolContext(options: SessionToolsOptions, signal: AbortSignal, callId: string): ToolContext {
  const { session } = options;
  const principal: Principal = { kind: 'session', sessionId: session.id, user: session.user, extension: options.owner };
  return { bridge: inProcessCaller(options.dispatch, principal), sessionId: session.id, userId: session.user, stateDir: options.stateDir, signal, callId };
}

function failure(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * A BridgeCaller that dispatches in-process: no socket, no serialization, the same access rules, and
 * the same errors a socket client gets (an RpcError, a typed error's code and fields in `data`).
 */
export function inProcessCaller(dispatch: InProcessDispatch, principal: Principal): BridgeCaller {
  return {
    async call<T>(method: string, params: unknown = {}, options: { signal?: AbortSignal; timeoutMs?: number; onProgress?: (data: unknown) => void } = {}): Promise<T> {
      const controller = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
      let timer: NodeJS.Timeout | undefined;
      const running = dispatch(method, params, { principal, signal, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
      const limited =
        options.timeoutMs === undefined
          ? running
          : Promise.race([
              running,
              new Promise<never>((_resolve, reject) => {
                timer = setTimeout(() => {
                  controller.abort();
                  reject(new RpcConnectionError(`${method}: no answer within ${options.timeoutMs} ms`));
                }, options.timeoutMs);
              }),
            ]);
      try {
        const result = await limited;
        return (result === undefined ? null : result) as T;
      } catch (error) {
        if (error instanceof RpcError || error instanceof RpcConnectionError) throw error;
        const answer = toErrorObject(error);
        throw new RpcError(answer.code, answer.message, answer.data);
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
  };
}

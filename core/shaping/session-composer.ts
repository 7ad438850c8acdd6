import crypto from 'node:crypto';
import path from 'node:path';
import { BRIDGE_ENV } from '../bridge/bridge-protocol.ts';
import type { Contributions, SessionServer } from '../extension-host/contributions.ts';
import type { SessionTokens } from '../bridge/credentials.ts';
import type { ComposedLaunch, LaunchComposer } from '../sessions/engine.ts';
import type { McpServerSpec } from '../extension-host/extension-api.ts';
import { preloadArguments } from '../extension-host/module-import.ts';
import { writeFileAtomic } from '../util/files.ts';
import type { Logger } from '../util/log.ts';
import { deniedTools, type ServerGrant, type ToolGrants } from '../mcp-endpoint/tool-grants.ts';
import { claudeToolArgs, mergeOverrides, selectMcpServers, systemPromptText, type MergedOverrides, type SessionOverrides } from './session-overrides.ts';
import type { PromptRecord, SessionSummary } from '../sessions/session-types.ts';
import type { PermissionMode } from '../sessions/claude/claude-args.ts';
import type { TemplateRegistry } from './templates.ts';
import { approvalFreeTools } from './approval-free-tools.ts';

export interface ComposerOptions {
  readonly contributions: Contributions;
  readonly templates: TemplateRegistry;
  readonly tokens: SessionTokens;
  readonly stateDir: string;
  readonly socketPath: string;
  readonly sessionDir: (sessionId: string) => string;
  readonly logger: Logger;
  /** What each session may reach on the daemon's MCP endpoint. */
  readonly grants: ToolGrants;
  /** The daemon's MCP endpoint, e.g. `http://127.0.0.1:41234`. */
  readonly endpointUrl: () => string;
  /** Each server offers one `{action, params}` tool instead of one tool per command. */
  gatewayMode: () => boolean;
  /** The permission mode of a user's sessions whose template sets none (`engine.user_permission_modes`, else `engine.permission_mode`). */
  readonly permissionMode?: (user: string) => PermissionMode;
}

type McpConfigEntry =
  | { type: 'http'; url: string; headers: Record<string, string> }
  | { type: 'stdio'; command: string; args: string[]; env: Record<string, string> };

interface McpConfigFile {
  mcpServers: Record<string, McpConfigEntry>;
}

/**
 * Turns what extensions registered into a session's CLI arguments: the MCP config (only the servers
 * this session may have, each with its own extension's credential), tool limits and system-prompt
 * fragments. It also records which daemon-served tools the session was given (ToolGrants).
 */
export class SessionComposer implements LaunchComposer {
  /** What each session's mcp.json holds, so an unchanged config is not written (or read) per prompt. */
  private readonly written = new Map<string, string>();

  constructor(private readonly options: ComposerOptions) {}

  async compose(session: SessionSummary, prompt: PromptRecord): Promise<ComposedLaunch> {
    const overrides = await this.collectOverrides(session, prompt);
    const merged = mergeOverrides(overrides);
    const fragments = [...this.fragments(session), ...merged.systemPrompt];
    const servers = selectMcpServers(
      this.options.contributions
        .listServers()
        .filter((server) => this.applies(server, session))
        .sort((a, b) => a.name.localeCompare(b.name)),
      merged,
    );
    this.options.grants.record(session.id, toolGrants(servers, merged));
    const config = this.mcpConfig(session, servers);
    const text = `${JSON.stringify(config, null, 2)}\n`;
    const file = path.join(this.options.sessionDir(session.id), 'mcp.json');
    if (this.written.get(session.id) !== text) {
      writeFileAtomic(file, text);
      this.written.set(session.id, text);
    }
    const systemPrompt = systemPromptText({ ...merged, systemPrompt: fragments });
    const permissionMode = this.permissionMode(session);
    const free = permissionMode === 'approve' ? approvalFreeTools(servers, this.options.gatewayMode()) : [];
    const allowed = free.length > 0 ? ['--allowedTools', free.join(',')] : [];
    return {
      args: ['--mcp-config', file, '--strict-mcp-config', ...claudeToolArgs(merged), ...allowed],
      systemPrompt: systemPrompt ? [systemPrompt] : [],
      promptContext: merged.promptContext,
      ...(merged.model ? { model: merged.model } : {}),
      ...(permissionMode ? { permissionMode } : {}),
      key: crypto.createHash('sha256').update(text).digest('hex'),
    };
  }

  private permissionMode(session: SessionSummary): PermissionMode | undefined {
    const template = session.template === undefined ? undefined : this.options.templates.get(session.template);
    return template?.permissionMode ?? this.options.permissionMode?.(session.user);
  }

  /** The template first, then customizers, then pre-prompt hooks. A failing one fails closed. */
  private async collectOverrides(session: SessionSummary, prompt: PromptRecord): Promise<SessionOverrides[]> {
    const list: SessionOverrides[] = [this.options.templates.overridesFor(session.template)];
    for (const { owner, customizer } of this.options.contributions.listCustomizers()) {
      list.push(this.guarded(owner, 'session customizer', () => customizer(session)));
    }
    for (const { owner, hook } of this.options.contributions.listPrePromptHooks()) {
      try {
        list.push((await hook(session, prompt)) ?? {});
      } catch (error) {
        list.push(this.failure(owner, 'pre-prompt hook', error));
      }
    }
    return list;
  }

  private guarded(owner: string, what: string, run: () => SessionOverrides | undefined): SessionOverrides {
    try {
      return run() ?? {};
    } catch (error) {
      return this.failure(owner, what, error);
    }
  }

  private failure(owner: string, what: string, error: unknown): SessionOverrides {
    const reason = `the ${what} of ${owner} failed: ${(error as Error).message}`;
    this.options.logger.error(`${reason}; the session runs without tools`);
    return { failClosed: reason };
  }

  private fragments(session: SessionSummary): string[] {
    const texts: string[] = [];
    for (const fragment of this.options.contributions.listSystemPrompts()) {
      try {
        const text = typeof fragment === 'string' ? fragment : fragment(session);
        if (text) texts.push(text);
      } catch (error) {
        this.options.logger.warn('a system-prompt fragment failed', { error: (error as Error).message });
      }
    }
    return texts;
  }

  private applies(server: SessionServer, session: SessionSummary): boolean {
    try {
      return server.when ? server.when(session) : true;
    } catch {
      return false;
    }
  }

  private mcpConfig(session: SessionSummary, servers: readonly SessionServer[]): McpConfigFile {
    const config: McpConfigFile = { mcpServers: {} };
    for (const server of servers) {
      config.mcpServers[server.name] =
        server.serve.kind === 'tools' ? this.httpEntry(session, server) : this.stdioEntry(session, server.owner, server.serve.spec);
    }
    return config;
  }

  private httpEntry(session: SessionSummary, server: SessionServer): McpConfigEntry {
    const token = this.options.tokens.issue({ sessionId: session.id, extension: server.owner, channel: 'mcp' });
    const query = this.options.gatewayMode() ? '?gateway=1' : '';
    return { type: 'http', url: `${this.options.endpointUrl()}/mcp/${server.name}${query}`, headers: { Authorization: `Bearer ${token}` } };
  }

  private stdioEntry(session: SessionSummary, owner: string, spec: McpServerSpec): McpConfigEntry {
    const bridgeEnv: Record<string, string> = {
      [BRIDGE_ENV.sessionId]: session.id,
      [BRIDGE_ENV.userId]: session.user,
      [BRIDGE_ENV.stateDir]: this.options.stateDir,
      [BRIDGE_ENV.socket]: this.options.socketPath,
      [BRIDGE_ENV.token]: this.options.tokens.issue({ sessionId: session.id, extension: owner, channel: 'bridge' }),
      ...(this.options.gatewayMode() ? { [BRIDGE_ENV.gateway]: '1' } : {}),
    };
    const command = spec.script ? process.execPath : (spec.command as string);
    const args = spec.script ? [...preloadArguments(spec.script), spec.script, ...(spec.args ?? [])] : [...(spec.args ?? [])];
    return { type: 'stdio', command, args, env: { PATH: process.env.PATH ?? '', ...spec.env, ...bridgeEnv } };
  }
}

/** The servers a session gets, each without the tools its overrides disallow. */
function toolGrants(servers: readonly SessionServer[], merged: MergedOverrides): Record<string, ServerGrant> {
  const grants: Record<string, ServerGrant> = {};
  for (const server of servers) grants[server.name] = { owner: server.owner, denied: deniedTools(server.name, merged.disallowedTools) };
  return grants;
}


import crypto from 'node:crypto';
import path from 'node:path';
import { BRIDGE_ENV } from './bridge-protocol.ts';
import type { Contributions } from './contributions.ts';
import type { SessionTokens } from './credentials.ts';
import type { ComposedLaunch, LaunchComposer } from './engine.ts';
import type { McpServerSpec } from './extension-api.ts';
import { writeFileAtomic } from './files.ts';
import type { Logger } from './log.ts';
import { claudeToolArgs, mergeOverrides, selectMcpServers, systemPromptText, type SessionOverrides } from './session-overrides.ts';
import type { PromptRecord, SessionSummary } from './session-types.ts';
import type { TemplateRegistry } from './templates.ts';

/** Hooks that let Node run an extension's TypeScript MCP server directly (see bin/register-hooks.mjs). */
const SCRIPT_HOOKS = new URL('../bin/register-hooks.mjs', import.meta.url).href;

export interface ComposerOptions {
  readonly contributions: Contributions;
  readonly templates: TemplateRegistry;
  readonly tokens: SessionTokens;
  readonly stateDir: string;
  readonly socketPath: string;
  readonly sessionDir: (sessionId: string) => string;
  readonly logger: Logger;
  /** Each server offers one `{action, params}` tool instead of one tool per command. */
  gatewayMode: () => boolean;
}

interface McpConfigFile {
  mcpServers: Record<string, { type: 'stdio'; command: string; args: string[]; env: Record<string, string> }>;
}

/**
 * Turns what extensions registered into a session's CLI arguments: the MCP config (only the servers
 * this session may have, each with its bridge credential), tool limits and system-prompt fragments.
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
        .listMcpServers()
        .filter((spec) => this.applies(spec, session))
        .sort((a, b) => a.name.localeCompare(b.name)),
      merged,
    );
    const config = this.mcpConfig(session, servers);
    const text = `${JSON.stringify(config, null, 2)}\n`;
    const file = path.join(this.options.sessionDir(session.id), 'mcp.json');
    if (this.written.get(session.id) !== text) {
      writeFileAtomic(file, text);
      this.written.set(session.id, text);
    }
    const systemPrompt = systemPromptText({ ...merged, systemPrompt: fragments });
    return {
      args: ['--mcp-config', file, '--strict-mcp-config', ...claudeToolArgs(merged)],
      systemPrompt: systemPrompt ? [systemPrompt] : [],
      ...(merged.model ? { model: merged.model } : {}),
      key: crypto.createHash('sha256').update(text).digest('hex'),
    };
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

  private applies(spec: McpServerSpec, session: SessionSummary): boolean {
    try {
      return spec.when ? spec.when(session) : true;
    } catch {
      return false;
    }
  }

  private mcpConfig(session: SessionSummary, servers: readonly McpServerSpec[]): McpConfigFile {
    const bridgeEnv: Record<string, string> = {
      [BRIDGE_ENV.sessionId]: session.id,
      [BRIDGE_ENV.userId]: session.user,
      [BRIDGE_ENV.stateDir]: this.options.stateDir,
      [BRIDGE_ENV.socket]: this.options.socketPath,
      [BRIDGE_ENV.token]: this.options.tokens.issue(session.id),
      ...(this.options.gatewayMode() ? { [BRIDGE_ENV.gateway]: '1' } : {}),
    };
    const config: McpConfigFile = { mcpServers: {} };
    for (const spec of servers) {
      const command = spec.script ? process.execPath : (spec.command as string);
      const args = spec.script ? ['--import', SCRIPT_HOOKS, spec.script, ...(spec.args ?? [])] : [...(spec.args ?? [])];
      config.mcpServers[spec.name] = { type: 'stdio', command, args, env: { PATH: process.env.PATH ?? '', ...spec.env, ...bridgeEnv } };
    }
    return config;
  }
}


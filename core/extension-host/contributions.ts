import { HELP_ACTION } from '../../mcp/gateway.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import type { Redactor } from '../shaping/redaction.ts';
import type { McpServerSpec, PrePromptHook, SessionCustomizer, SystemPromptFragment, ToolServerSpec } from './extension-api.ts';
import type { SessionSummary } from '../sessions/session-types.ts';

interface Owned<T> {
  readonly owner: string;
  readonly value: T;
}

/** An MCP server some extension gives sessions: served by the daemon, or started by the CLI. */
export interface SessionServer {
  readonly name: string;
  /** The extension that registered it; its tokens reach only this extension's methods. */
  readonly owner: string;
  readonly tags: readonly string[];
  readonly when: ((session: SessionSummary) => boolean) | undefined;
  readonly serve: { readonly kind: 'tools'; readonly spec: ToolServerSpec } | { readonly kind: 'stdio'; readonly spec: McpServerSpec };
}

const SERVER_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * What extensions contribute to sessions and to each other, each entry tagged with its owner.
 * Every add returns the disposable that removes exactly that entry.
 */
export class Contributions {
  private readonly servers = new Map<string, SessionServer>();
  private readonly systemPrompts = new Set<Owned<SystemPromptFragment>>();
  private readonly customizers = new Set<Owned<SessionCustomizer>>();
  private readonly hooks = new Set<Owned<PrePromptHook>>();
  private readonly services = new Map<string, Owned<unknown>>();
  private readonly redactors = new Set<Owned<Redactor>>();
  private readonly hiddenPaths = new Set<Owned<string>>();

  addTools(owner: string, spec: ToolServerSpec): Disposable {
    if (spec.tools.length === 0) throw new Error(`MCP server ${spec.server}: give at least one tool`);
    const names = new Set<string>();
    for (const tool of spec.tools) {
      if (names.has(tool.name)) throw new Error(`MCP server ${spec.server}: two tools are named "${tool.name}"`);
      // In gateway mode "help" is the gateway's own action.
      if (tool.name === HELP_ACTION) throw new Error(`MCP server ${spec.server}: no tool may be named "${HELP_ACTION}"`);
      names.add(tool.name);
    }
    const unknown = (spec.withoutApproval ?? []).filter((name) => !names.has(name));
    if (unknown.length > 0) throw new Error(`MCP server ${spec.server}: withoutApproval names no tool of it: ${unknown.join(', ')}`);
    return this.addServer({ name: spec.server, owner, tags: spec.tags ?? [], when: spec.when, serve: { kind: 'tools', spec } });
  }

  addMcpServer(owner: string, spec: McpServerSpec): Disposable {
    if (!spec.script === !spec.command) throw new Error(`MCP server ${spec.name}: give either script or command`);
    return this.addServer({ name: spec.name, owner, tags: spec.tags ?? [], when: spec.when, serve: { kind: 'stdio', spec } });
  }

  private addServer(server: SessionServer): Disposable {
    if (!SERVER_NAME.test(server.name)) throw new Error(`MCP server name "${server.name}" must be 1-64 letters, digits, _ or -`);
    const existing = this.servers.get(server.name);
    if (existing) throw new Error(`MCP server ${server.name} is already registered by ${existing.owner}`);
    this.servers.set(server.name, server);
    return toDisposable(() => {
      if (this.servers.get(server.name) === server) this.servers.delete(server.name);
    });
  }

  addSystemPrompt(owner: string, fragment: SystemPromptFragment): Disposable {
    return addTo(this.systemPrompts, { owner, value: fragment });
  }

  addCustomizer(owner: string, customizer: SessionCustomizer): Disposable {
    return addTo(this.customizers, { owner, value: customizer });
  }

  addPrePromptHook(owner: string, hook: PrePromptHook): Disposable {
    return addTo(this.hooks, { owner, value: hook });
  }

  provideService(owner: string, name: string, service: unknown): Disposable {
    const existing = this.services.get(name);
    if (existing) throw new Error(`the service ${name} is already provided by ${existing.owner}`);
    const entry = { owner, value: service };
    this.services.set(name, entry);
    return toDisposable(() => {
      if (this.services.get(name) === entry) this.services.delete(name);
    });
  }

  addRedactor(owner: string, redactor: Redactor): Disposable {
    return addTo(this.redactors, { owner, value: redactor });
  }

  listRedactors(): Redactor[] {
    return [...this.redactors].map((entry) => entry.value);
  }

  hideFromSessions(owner: string, file: string): Disposable {
    return addTo(this.hiddenPaths, { owner, value: file });
  }

  /** Files and directories extensions keep out of every session's sandbox. */
  listHiddenPaths(): string[] {
    return [...this.hiddenPaths].map((entry) => entry.value);
  }

  findService<T>(name: string): T | undefined {
    return this.services.get(name)?.value as T | undefined;
  }

  listServers(): SessionServer[] {
    return [...this.servers.values()];
  }

  findServer(name: string): SessionServer | undefined {
    return this.servers.get(name);
  }

  listSystemPrompts(): SystemPromptFragment[] {
    return [...this.systemPrompts].map((entry) => entry.value);
  }

  listCustomizers(): Array<{ owner: string; customizer: SessionCustomizer }> {
    return [...this.customizers].map((entry) => ({ owner: entry.owner, customizer: entry.value }));
  }

  listPrePromptHooks(): Array<{ owner: string; hook: PrePromptHook }> {
    return [...this.hooks].map((entry) => ({ owner: entry.owner, hook: entry.value }));
  }

  /** How many entries each registry holds: all zero once every extension stopped. */
  sizes(): Record<string, number> {
    return {
      mcpServers: this.servers.size,
      systemPrompts: this.systemPrompts.size,
      customizers: this.customizers.size,
      prePromptHooks: this.hooks.size,
      services: this.services.size,
      redactors: this.redactors.size,
      hiddenPaths: this.hiddenPaths.size,
    };
  }
}

function addTo<T>(set: Set<T>, entry: T): Disposable {
  set.add(entry);
  return toDisposable(() => set.delete(entry));
}

import { toDisposable, type Disposable } from './disposable.ts';
import type { Redactor } from './redaction.ts';
import type { McpServerSpec, PrePromptHook, SessionCustomizer, SystemPromptFragment } from './extension-api.ts';

interface Owned<T> {
  readonly owner: string;
  readonly value: T;
}

/**
 * What extensions contribute to sessions and to each other, each entry tagged with its owner.
 * Every add returns the disposable that removes exactly that entry.
 */
export class Contributions {
  private readonly mcpServers = new Map<string, Owned<McpServerSpec>>();
  private readonly systemPrompts = new Set<Owned<SystemPromptFragment>>();
  private readonly customizers = new Set<Owned<SessionCustomizer>>();
  private readonly hooks = new Set<Owned<PrePromptHook>>();
  private readonly services = new Map<string, Owned<unknown>>();
  private readonly redactors = new Set<Owned<Redactor>>();

  addMcpServer(owner: string, spec: McpServerSpec): Disposable {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) throw new Error(`MCP server name "${spec.name}" must be 1-64 letters, digits, _ or -`);
    if (!spec.script === !spec.command) throw new Error(`MCP server ${spec.name}: give either script or command`);
    const existing = this.mcpServers.get(spec.name);
    if (existing) throw new Error(`MCP server ${spec.name} is already registered by ${existing.owner}`);
    const entry = { owner, value: spec };
    this.mcpServers.set(spec.name, entry);
    return toDisposable(() => {
      if (this.mcpServers.get(spec.name) === entry) this.mcpServers.delete(spec.name);
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

  findService<T>(name: string): T | undefined {
    return this.services.get(name)?.value as T | undefined;
  }


  listMcpServers(): McpServerSpec[] {
    return [...this.mcpServers.values()].map((entry) => entry.value);
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
      mcpServers: this.mcpServers.size,
      systemPrompts: this.systemPrompts.size,
      customizers: this.customizers.size,
      prePromptHooks: this.hooks.size,
      services: this.services.size,
      redactors: this.redactors.size,
    };
  }
}

function addTo<T>(set: Set<T>, entry: T): Disposable {
  set.add(entry);
  return toDisposable(() => set.delete(entry));
}

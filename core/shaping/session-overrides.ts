/**
 * What session customizers, pre-prompt hooks and templates may change about one session, and how several
 * of them combine: denials add up, allowlists narrow each other, so no contributor can widen what another
 * one restricted.
 */
export interface SessionOverrides {
  /** Fragments appended to the system prompt. */
  readonly systemPrompt?: string | readonly string[];
  /**
   * Context for this prompt only (recalled notes, a reminder), sent with the prompt's text in the same
   * user message: unlike the system prompt, it changes per prompt without restarting the process.
   */
  readonly promptContext?: string | readonly string[];
  readonly model?: string;
  /** Allowlist of built-in tools (`--tools`); `[]` means no built-in tools at all. */
  readonly tools?: readonly string[];
  /** Denied tools (`--disallowedTools`), built-in or `mcp__server__tool`. */
  readonly disallowedTools?: readonly string[];
  /** Allowlist of MCP server names. */
  readonly mcpServers?: readonly string[];
  readonly excludeMcpServers?: readonly string[];
  readonly excludeMcpTags?: readonly string[];
  /** Why the session must run with no tools and no MCP servers at all, e.g. an unknown template. */
  readonly failClosed?: string;
}

/** Overrides combined; `undefined` allowlists mean "no restriction". */
export interface MergedOverrides {
  systemPrompt: string[];
  promptContext: string[];
  model: string | undefined;
  tools: string[] | undefined;
  disallowedTools: string[];
  mcpServers: string[] | undefined;
  excludeMcpServers: string[];
  excludeMcpTags: string[];
  failClosed: string | undefined;
}

export function mergeOverrides(list: readonly (SessionOverrides | undefined)[]): MergedOverrides {
  const present = list.filter((overrides): overrides is SessionOverrides => overrides !== undefined);
  const failClosed = present.find((overrides) => overrides.failClosed)?.failClosed;
  return {
    systemPrompt: unique(present.flatMap((overrides) => fragmentsOf(overrides.systemPrompt))),
    promptContext: unique(present.flatMap((overrides) => fragmentsOf(overrides.promptContext))),
    model: present.find((overrides) => overrides.model)?.model,
    tools: failClosed !== undefined ? [] : intersectAllowlists(present.map((overrides) => overrides.tools)),
    disallowedTools: unite(present.map((overrides) => overrides.disallowedTools)),
    mcpServers: failClosed !== undefined ? [] : intersectAllowlists(present.map((overrides) => overrides.mcpServers)),
    excludeMcpServers: unite(present.map((overrides) => overrides.excludeMcpServers)),
    excludeMcpTags: unite(present.map((overrides) => overrides.excludeMcpTags)),
    failClosed,
  };
}

/** The MCP servers a session may have: inside the allowlist, not excluded by name or by any tag. */
export function selectMcpServers<T extends { name: string; tags?: readonly string[] }>(
  servers: readonly T[],
  merged: MergedOverrides,
): T[] {
  if (merged.failClosed !== undefined) return [];
  const allowed = merged.mcpServers === undefined ? undefined : new Set(merged.mcpServers);
  const excludedNames = new Set(merged.excludeMcpServers);
  const excludedTags = new Set(merged.excludeMcpTags);
  return servers.filter(
    (server) =>
      (allowed === undefined || allowed.has(server.name)) &&
      !excludedNames.has(server.name) &&
      !(server.tags ?? []).some((tag) => excludedTags.has(tag)),
  );
}

/**
 * CLI arguments that remove tools from the session. Both flags are variadic in the CLI, so each gets exactly
 * one comma-joined value; otherwise a following argument could be taken as a tool name.
 */
export function claudeToolArgs(merged: MergedOverrides): string[] {
  const args: string[] = [];
  if (merged.tools !== undefined) args.push('--tools', merged.tools.join(','));
  if (merged.disallowedTools.length > 0) args.push('--disallowedTools', merged.disallowedTools.join(','));
  return args;
}

export function systemPromptText(merged: MergedOverrides): string | undefined {
  return merged.systemPrompt.length > 0 ? merged.systemPrompt.join('\n\n') : undefined;
}

function fragmentsOf(texts: string | readonly string[] | undefined): string[] {
  const fragments = typeof texts === 'string' ? [texts] : (texts ?? []);
  return fragments.filter((fragment) => fragment.trim() !== '');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function unite(lists: readonly (readonly string[] | undefined)[]): string[] {
  return unique(lists.flatMap((list) => list ?? []));
}

/** Only names every defined list allows; `undefined` when no list restricts anything. */
function intersectAllowlists(lists: readonly (readonly string[] | undefined)[]): string[] | undefined {
  const defined = lists.filter((list): list is readonly string[] => list !== undefined);
  const [first, ...rest] = defined;
  if (first === undefined) return undefined;
  return unique(first).filter((name) => rest.every((list) => list.includes(name)));
}

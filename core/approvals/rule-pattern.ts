import { InvalidPatternError } from './approval-errors.ts';

/** A permission rule as Claude Code writes them: `Tool` (every call) or `Tool(content)`. */
export interface RulePattern {
  readonly tool: string;
  readonly content?: string;
}

const FILE_TOOLS: Readonly<Record<string, string>> = { Read: 'file_path', Edit: 'file_path', Write: 'file_path', MultiEdit: 'file_path', NotebookEdit: 'notebook_path' };

/** Shell syntax that chains, substitutes or redirects: a wildcard rule never answers such a command. */
const SHELL_CONTROL = /[;&|`<>\n]|\$\(/;

export function parsePattern(text: string): RulePattern {
  const match = /^([A-Za-z][A-Za-z0-9_-]*\*?)(?:\((.*)\))?$/s.exec(text.trim());
  if (!match) throw new InvalidPatternError(text, 'write Tool or Tool(content), e.g. Bash(git status:*), Edit(/srv/app/**) or mcp__server');
  const [, tool = '', content] = match;
  if (content !== undefined && content.trim() === '') throw new InvalidPatternError(text, 'the part in parentheses is empty; write just the tool name to allow every call');
  return content === undefined ? { tool } : { tool, content };
}

export function formatPattern(pattern: RulePattern): string {
  return pattern.content === undefined ? pattern.tool : `${pattern.tool}(${pattern.content})`;
}

/** Whether a stored rule answers this call. */
export function patternMatches(text: string, tool: string, input: unknown): boolean {
  let pattern: RulePattern;
  try {
    pattern = parsePattern(text);
  } catch {
    return false;
  }
  if (pattern.tool.startsWith('mcp__')) return mcpMatches(pattern, tool);
  if (pattern.tool !== tool) return false;
  if (pattern.content === undefined) return true;
  const fields = isObject(input) ? input : {};
  if (tool === 'Bash') return commandMatches(pattern.content, typeof fields.command === 'string' ? fields.command : undefined);
  const pathField = FILE_TOOLS[tool];
  if (pathField) return typeof fields[pathField] === 'string' && globMatches(pattern.content, fields[pathField]);
  if (tool === 'WebFetch' && pattern.content.startsWith('domain:')) return hostOf(fields.url) === pattern.content.slice('domain:'.length).toLowerCase();
  return Object.values(fields).some((value) => typeof value === 'string' && wildcardMatches(pattern.content as string, value));
}

/** `mcp__server` is every tool of the server; `mcp__server__tool` one tool (`mcp__server__*` also every one). */
function mcpMatches(pattern: RulePattern, tool: string): boolean {
  if (pattern.content !== undefined) return false;
  if (pattern.tool === tool) return true;
  const server = pattern.tool.endsWith('__*') ? pattern.tool.slice(0, -3) : pattern.tool;
  return server.split('__').length === 2 && tool.startsWith(`${server}__`);
}

/** `prefix:*` matches the command and its longer forms, `*` anywhere else any text; otherwise the exact command. */
function commandMatches(content: string, command: string | undefined): boolean {
  if (command === undefined) return false;
  const trimmed = command.trim();
  if (content.endsWith(':*')) {
    const prefix = content.slice(0, -2).trim();
    return !SHELL_CONTROL.test(trimmed) && (trimmed === prefix || trimmed.startsWith(`${prefix} `));
  }
  if (content.includes('*')) return !SHELL_CONTROL.test(trimmed) && wildcardMatches(content, trimmed);
  return trimmed === content.trim();
}

function wildcardMatches(pattern: string, text: string): boolean {
  const source = pattern.split('*').map(escapeRegExp).join('.*');
  return new RegExp(`^${source}$`, 's').test(text);
}

/** `**` crosses directories, `*` and `?` do not. */
function globMatches(pattern: string, file: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, 's').test(file);
}

/**
 * The rule "always allow" offers for a call: the CLI's own suggestion when it made one, else one
 * derived from the call (a command's first words, a file's directory, the tool).
 */
export function suggestPattern(tool: string, input: unknown, cliSuggestions: readonly string[] = []): string {
  for (const suggestion of cliSuggestions) {
    try {
      const parsed = parsePattern(suggestion);
      if (parsed.tool === tool || tool.startsWith(`${parsed.tool}__`)) return formatPattern(parsed);
    } catch {
      // not a rule this daemon can store: derive one instead
    }
  }
  const fields = isObject(input) ? input : {};
  if (tool === 'Bash' && typeof fields.command === 'string') {
    const command = fields.command.trim();
    if (SHELL_CONTROL.test(command) || command === '') return `Bash(${command})`;
    const [first = '', second] = command.split(/\s+/);
    const words = second !== undefined && /^[a-z][\w.-]*$/i.test(second) ? `${first} ${second}` : first;
    return `Bash(${words}:*)`;
  }
  const pathField = FILE_TOOLS[tool];
  if (pathField && typeof fields[pathField] === 'string') {
    const file = fields[pathField];
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
    return dir ? `${tool}(${dir}/**)` : `${tool}(${file})`;
  }
  return tool;
}

/** One line saying what a call does, for a person deciding on it. */
export function summarizeCall(tool: string, input: unknown, maxLength = 300): string {
  const fields = isObject(input) ? input : {};
  const pathField = FILE_TOOLS[tool];
  let detail: string;
  if (tool === 'Bash' && typeof fields.command === 'string') detail = fields.command;
  else if (pathField && typeof fields[pathField] === 'string') detail = fields[pathField];
  else if (tool === 'WebFetch' && typeof fields.url === 'string') detail = fields.url;
  else detail = JSON.stringify(input ?? {});
  const line = `${tool}: ${detail.replace(/\s*\n\s*/g, ' ⏎ ')}`;
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

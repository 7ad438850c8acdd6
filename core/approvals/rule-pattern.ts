import os from 'node:os';
import path from 'node:path';
import { InvalidPatternError } from './approval-errors.ts';
import { headAndTail, visibleText } from './call-text.ts';

/** A permission rule as Claude Code writes them: `Tool` (every call) or `Tool(content)`. */
export interface RulePattern {
  readonly tool: string;
  readonly content?: string;
}

const FILE_TOOLS: Readonly<Record<string, string>> = { Read: 'file_path', Edit: 'file_path', Write: 'file_path', MultiEdit: 'file_path', NotebookEdit: 'notebook_path' };

/** Tools whose rule names a directory they search: a missing one is the session's directory, which no rule can know. */
const SEARCH_TOOLS = new Set(['Grep', 'Glob', 'LS']);

/** Other fields of a call that name files: a rule answers only when they stay under it too. */
const PATH_LIKE_KEY = /(^|_)(path|paths|file|files|dir|directory|cwd)$/i;

/** Tools that change files: a rule never lets them touch the CLI's own settings and instructions. */
const WRITE_TOOLS = new Set(['Edit', 'Write', 'MultiEdit', 'NotebookEdit']);

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
  const fields = isObject(input) ? input : {};
  const pathField = FILE_TOOLS[tool];
  if (pathField && WRITE_TOOLS.has(tool) && touchesCliSettings(fields[pathField])) return false;
  if (pattern.content === undefined) return true;
  if (tool === 'Bash') return commandMatches(pattern.content, typeof fields.command === 'string' ? fields.command : undefined);
  if (pathField) return pathMatches(pattern.content, fields[pathField]) && otherPathsStayUnder(pattern.content, tool, fields, pathField);
  if (SEARCH_TOOLS.has(tool)) return pathMatches(pattern.content, fields.path) && otherPathsStayUnder(pattern.content, tool, fields, 'path');
  if (tool === 'WebFetch') {
    if (pattern.content.startsWith('domain:')) return hostOf(fields.url) === pattern.content.slice('domain:'.length).toLowerCase();
    return typeof fields.url === 'string' && wildcardMatches(pattern.content, fields.url);
  }
  if (tool === 'WebSearch') return typeof fields.query === 'string' && wildcardMatches(pattern.content, fields.query);
  // A tool whose target this daemon does not know: only the bare tool name answers it.
  return false;
}

/**
 * Whether every other field naming a file (an absolute path, `~`, or one with `..`) is under the rule
 * too: a search's `glob` or a Glob's `pattern` can reach outside the directory the rule names.
 */
function otherPathsStayUnder(content: string, tool: string, fields: Record<string, unknown>, targetField: string): boolean {
  for (const [key, value] of Object.entries(fields)) {
    if (key === targetField || typeof value !== 'string') continue;
    const pathLike = PATH_LIKE_KEY.test(key) || (tool === 'Glob' && key === 'pattern') || (tool === 'Grep' && key === 'glob');
    if (!pathLike) continue;
    const reachesOut = value.startsWith('/') || value.startsWith('~') || value.split(/[/\\]/).includes('..');
    if (reachesOut && !pathMatches(content, value)) return false;
  }
  return true;
}

/** `mcp__server` is every tool of the server; `mcp__server__tool` one tool (`mcp__server__*` also every one). */
function mcpMatches(pattern: RulePattern, tool: string): boolean {
  if (pattern.content !== undefined) return false;
  if (pattern.tool === tool) return true;
  const server = pattern.tool.endsWith('__*') ? pattern.tool.slice(0, -3) : pattern.tool;
  return server.split('__').length === 2 && tool.startsWith(`${server}__`);
}

/**
 * `prefix:*` matches the command and its longer forms, `*` anywhere else any text; otherwise the exact
 * command. `\*` is a star itself (an exact rule of a command that has one).
 */
function commandMatches(content: string, command: string | undefined): boolean {
  if (command === undefined) return false;
  const trimmed = command.trim();
  const parts = starParts(content.trim());
  const last = parts.at(-1);
  if (parts.length >= 2 && last === STAR && typeof parts.at(-2) === 'string' && (parts.at(-2) as string).endsWith(':')) {
    const prefix = joinLiteral(parts.slice(0, -1)).slice(0, -1).trim();
    return !SHELL_CONTROL.test(trimmed) && (trimmed === prefix || trimmed.startsWith(`${prefix} `));
  }
  if (parts.includes(STAR)) return !SHELL_CONTROL.test(trimmed) && wildcardMatches(content.trim(), trimmed);
  return trimmed === joinLiteral(parts);
}

const STAR = Symbol('star');
const QUESTION = Symbol('question');
type StarPart = string | typeof STAR | typeof QUESTION;

/** A pattern's text cut at its wildcards; `\*` (and `\?`) stand for the character itself. */
function starParts(pattern: string, wildcards = '*'): StarPart[] {
  const parts: StarPart[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    const next = pattern[i + 1];
    if (char === '\\' && next !== undefined && wildcards.includes(next)) {
      literal += next;
      i++;
    } else if (wildcards.includes(char)) {
      if (literal) parts.push(literal);
      literal = '';
      parts.push(char === '*' ? STAR : QUESTION);
    } else literal += char;
  }
  if (literal) parts.push(literal);
  return parts;
}

function joinLiteral(parts: readonly StarPart[]): string {
  return parts.map((part) => (part === STAR ? '*' : part === QUESTION ? '?' : part)).join('');
}

/** Writes text so that a pattern reads it literally: its wildcards escaped. */
function literal(text: string, wildcards = '*'): string {
  return [...text].map((char) => (wildcards.includes(char) ? `\\${char}` : char)).join('');
}

function wildcardMatches(pattern: string, text: string): boolean {
  const source = starParts(pattern).map((part) => (part === STAR ? '.*' : part === QUESTION ? '\\?' : escapeRegExp(part))).join('');
  return new RegExp(`^${source}$`, 's').test(text);
}

/**
 * A file rule answers an absolute path that is still under it once `..` and `.` are resolved; a relative
 * path (relative to a directory the rule cannot know) never. In the rule, `//x` is the absolute `/x` (the
 * CLI's form) and `~/x` is under the daemon's home directory.
 */
function pathMatches(content: string, file: unknown): boolean {
  const resolved = normalizedPath(file);
  const glob = absoluteGlob(content);
  return resolved !== undefined && glob !== undefined && globMatches(glob, resolved);
}

/** An absolute path with `.` and `..` resolved; undefined for anything else. */
export function normalizedPath(file: unknown): string | undefined {
  if (typeof file !== 'string' || !path.posix.isAbsolute(file)) return undefined;
  const resolved = path.posix.normalize(file);
  return resolved.split('/').includes('..') ? undefined : resolved;
}

/** A rule's path glob as an absolute one, or undefined when it is relative or climbs with `..`. */
function absoluteGlob(content: string): string | undefined {
  let glob = content.trim();
  if (glob.startsWith('//')) glob = glob.slice(1);
  else if (glob === '~' || glob.startsWith('~/')) glob = `${os.homedir().replace(/\/+$/, '')}${glob.slice(1)}`;
  if (!glob.startsWith('/') || glob.split('/').some((segment) => segment === '..' || segment === '.')) return undefined;
  return glob;
}

/** A path in a `.claude` directory or a `CLAUDE.md`: changing it changes what the CLI itself allows or is told. */
function touchesCliSettings(file: unknown): boolean {
  if (typeof file !== 'string') return false;
  const segments = [...file.split('/'), ...(normalizedPath(file) ?? '').split('/')];
  return segments.some((segment) => segment.toLowerCase() === '.claude' || segment.toLowerCase() === 'claude.md');
}

/** `**` crosses directories, `*` and `?` do not; `\*` and `\?` are the characters themselves. */
function globMatches(pattern: string, file: string): boolean {
  let source = '';
  const parts = starParts(pattern, '*?');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as StarPart;
    if (part === STAR && parts[i + 1] === STAR) {
      source += '.*';
      i++;
    } else if (part === STAR) source += '[^/]*';
    else if (part === QUESTION) source += '[^/]';
    else source += escapeRegExp(part);
  }
  return new RegExp(`^${source}$`, 's').test(file);
}

/**
 * Programs a `first words:*` rule would hand the model whole: shells and interpreters, programs that
 * run other programs, network tools and destructive ones. Their calls are allowed by exact command only.
 */
const NEVER_BY_PREFIX = /^(bash|sh|zsh|dash|ksh|fish|python[\d.]*|node|nodejs|perl|ruby|php|deno|bun|npx|env|sudo|doas|su|xargs|nice|nohup|timeout|time|watch|find|exec|eval|command|builtin|source|\.|ssh|scp|curl|wget|nc|ncat|netcat|socat|rm|dd|mkfs(\..*)?|chmod|chown|chgrp|shred)$/;

/**
 * The rule "always allow" offers for a call, narrow by default: the CLI's own suggestion when it made one
 * that answers this call and is no broader than the daemon's own; else a command's first two words
 * (`Bash(git status:*)`) where that is safe and the exact command where not, the file's directory
 * (`Edit(/srv/app/*)`), a fetch's domain, or the tool.
 */
export function suggestPattern(tool: string, input: unknown, cliSuggestions: readonly string[] = []): string {
  for (const suggestion of cliSuggestions) {
    try {
      const parsed = formatPattern(parsePattern(suggestion));
      if (patternMatches(parsed, tool, input) && !tooBroad(parsed)) return parsed;
    } catch {
      // not a rule this daemon can store: derive one instead
    }
  }
  const fields = isObject(input) ? input : {};
  if (tool === 'Bash' && typeof fields.command === 'string') {
    const command = fields.command.trim();
    const [first = '', second] = command.split(/\s+/);
    if (SHELL_CONTROL.test(command) || command.includes('*') || !prefixRuleSafe(first, second)) return exactPattern(tool, input);
    return `Bash(${second === undefined ? first : `${first} ${second}`}:*)`;
  }
  const pathField = FILE_TOOLS[tool];
  const file = pathField ? normalizedPath(fields[pathField]) : undefined;
  if (file !== undefined) return `${tool}(${literal(file.slice(0, file.lastIndexOf('/')), '*?')}/*)`;
  if (tool === 'WebFetch') {
    const host = hostOf(fields.url);
    if (host) return `WebFetch(domain:${host})`;
  }
  return exactPattern(tool, input);
}

/**
 * The rule "allow for this session" stores unless told another: this very call again. The exact command,
 * the exact file, the exact url or query; the tool itself for a tool whose target is unknown.
 */
export function exactPattern(tool: string, input: unknown): string {
  const fields = isObject(input) ? input : {};
  if (tool === 'Bash' && typeof fields.command === 'string') return `Bash(${literal(fields.command.trim())})`;
  const pathField = FILE_TOOLS[tool] ?? (SEARCH_TOOLS.has(tool) ? 'path' : undefined);
  if (pathField) {
    const file = normalizedPath(fields[pathField]);
    // A relative path (or none) is one no rule can answer: the pattern shows it, and a person is asked again.
    return `${tool}(${file === undefined ? String(fields[pathField] ?? '.') : literal(file, '*?')})`;
  }
  if (tool === 'WebFetch' && typeof fields.url === 'string') return `WebFetch(${literal(fields.url)})`;
  if (tool === 'WebSearch' && typeof fields.query === 'string') return `WebSearch(${literal(fields.query)})`;
  return tool;
}

/** Whether `first second…:*` may be offered for a command starting with these words. */
function prefixRuleSafe(first: string, second: string | undefined): boolean {
  if (first === '' || first.includes('/') || first.includes('=') || first.includes('\\')) return false;
  if (NEVER_BY_PREFIX.test(first)) return false;
  return second === undefined || !second.startsWith('-');
}

/** A Bash wildcard rule of the CLI's that hands over more than the daemon's own suggestion would. */
function tooBroad(pattern: string): boolean {
  const parsed = parsePattern(pattern);
  if (parsed.content === undefined) return parsed.tool === 'Bash' || parsed.tool in FILE_TOOLS || SEARCH_TOOLS.has(parsed.tool) || parsed.tool.startsWith('Web');
  if (parsed.tool !== 'Bash') return false;
  const parts = starParts(parsed.content.trim());
  if (!parts.includes(STAR)) return false;
  const head = typeof parts[0] === 'string' ? parts[0].replace(/:$/, '') : '';
  const [first = '', second] = head.trim().split(/\s+/);
  return !prefixRuleSafe(first, second) || second === undefined;
}

/**
 * One line saying what a call does, for a person deciding on it: controls escaped, a long one cut in the
 * middle (its whole input is in `claude-ext approvals --json`).
 */
export function summarizeCall(tool: string, input: unknown, maxLength = 300): string {
  const fields = isObject(input) ? input : {};
  const pathField = FILE_TOOLS[tool] ?? (SEARCH_TOOLS.has(tool) ? 'path' : undefined);
  let detail: string;
  if (tool === 'Bash' && typeof fields.command === 'string') detail = fields.command;
  else if (pathField && typeof fields[pathField] === 'string') detail = fields[pathField];
  else if (tool === 'WebFetch' && typeof fields.url === 'string') detail = fields.url;
  else detail = JSON.stringify(input ?? {});
  const line = `${visibleText(tool)}: ${visibleText(detail).replace(/\s*\n\s*/g, ' ⏎ ').replace(/\t/g, ' ')}`;
  return line.length > maxLength ? `${headAndTail(line, maxLength - 36)} (all: claude-ext approvals --json)` : line;
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

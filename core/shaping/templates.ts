import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import { expandHome } from '../util/files.ts';
import type { SessionOverrides } from './session-overrides.ts';
import type { PermissionMode } from '../sessions/claude/claude-args.ts';

/** Every permission mode a configuration may name. */
export const permissionModes = ['acceptEdits', 'bypassPermissions', 'default', 'dontAsk', 'plan', 'approve'] as const satisfies readonly PermissionMode[];

/** An agent blueprint: the prompt, model and tool restrictions a session starts with. */
export interface Template {
  name: string;
  description: string;
  systemPrompt?: string;
  /** Absolute path, read each time a session uses the template. */
  promptFile?: string;
  model?: string;
  /** Overrides `engine.permission_mode` (and the user's) for sessions of this template. */
  permissionMode?: PermissionMode;
  tools?: string[];
  disallowedTools?: string[];
  mcpServers?: string[];
  excludeMcpServers?: string[];
  excludeMcpTags?: string[];
  /** Absolute path. */
  cwd?: string;
  /** Absolute paths a session of this template may read, or write, inside its sandbox. */
  sandbox?: { readable: string[]; writable: string[] };
  visibility: 'public' | 'hidden';
  /** `built-in`, `config`, `extension:<name>`, or the file the template was read from. */
  source: string;
}

export const templateNamePattern = /^[a-z0-9][a-z0-9_-]*$/;

/** Tool lists reach the CLI comma-joined, so a comma inside one name would split it in two. */
const toolName = z.string().min(1).regex(/^[^,]+$/, 'a tool name cannot contain a comma');
const serverName = z.string().min(1);
const notAMapping = { error: (issue: { code: string }) => (issue.code === 'invalid_type' ? 'must be a mapping of template settings' : undefined) };

/** A template as written in YAML. */
export const templateSchema = z
  .strictObject({
    description: z
      .string({ error: (issue) => (issue.input === undefined ? 'required: say what the template is for' : undefined) })
      .min(1),
    system_prompt: z.string().optional(),
    prompt_file: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    permission_mode: z.enum(permissionModes).optional(),
    tools: z.array(toolName).optional(),
    disallowed_tools: z.array(toolName).optional(),
    mcp_servers: z.array(serverName).optional(),
    exclude_mcp_servers: z.array(serverName).optional(),
    exclude_mcp_tags: z.array(z.string().min(1)).optional(),
    cwd: z.string().min(1).optional(),
    sandbox: z.strictObject({ readable: z.array(z.string().min(1)).default([]), writable: z.array(z.string().min(1)).default([]) }).optional(),
    visibility: z.enum(['public', 'hidden']).default('public'),
  }, notAMapping)
  .refine((raw) => raw.system_prompt === undefined || raw.prompt_file === undefined, {
    message: 'set system_prompt or prompt_file, not both',
    path: ['prompt_file'],
  });

export type TemplateInput = z.input<typeof templateSchema>;

/** A template that cannot be used: names the template, the key and, for a template file, the file. */
export class TemplateError extends Error {
  constructor(
    readonly template: string,
    readonly key: string | undefined,
    readonly detail: string,
    readonly file?: string,
  ) {
    const where = file
      ? `${file}${key ? `: ${key}` : ''}`
      : `templates.${template}${key ? `.${key}` : ''}`;
    super(`${where}: ${detail}`);
    this.name = 'TemplateError';
  }
}

/** Where a template was defined: relative paths in it are resolved against `baseDir`. */
export interface TemplateOrigin {
  readonly baseDir: string;
  readonly source: string;
  /** Set when the template is a file of its own, so errors name that file. */
  readonly file?: string;
}

/** Validates a raw template and resolves its paths; throws the first TemplateError. */
export function parseTemplate(name: string, raw: unknown, origin: TemplateOrigin): Template {
  const result = checkTemplate(name, raw, origin);
  if ('errors' in result) throw result.errors[0];
  return result.template;
}

/** Reads a template file; the template is named after the file, without `.yaml` or `.yml`. */
export function loadTemplateFile(file: string): Template {
  const absolute = path.resolve(file);
  const name = path.basename(absolute).replace(/\.ya?ml$/, '');
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(absolute, 'utf8'));
  } catch (error) {
    throw new TemplateError(name, undefined, messageOf(error), absolute);
  }
  return parseTemplate(name, raw, { baseDir: path.dirname(absolute), source: absolute, file: absolute });
}

type CheckResult = { template: Template } | { errors: TemplateError[] };

function checkTemplate(name: string, raw: unknown, origin: TemplateOrigin): CheckResult {
  const fail = (key: string | undefined, detail: string): TemplateError => new TemplateError(name, key, detail, origin.file);
  if (!templateNamePattern.test(name)) {
    return { errors: [fail(undefined, 'not a valid template name (lowercase letters, digits, "-" and "_")')] };
  }
  const parsed = templateSchema.safeParse(raw);
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((issue) => {
      const key = issue.path.map(String).join('.') || undefined;
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((unknownKey) => fail(key ? `${key}.${unknownKey}` : unknownKey, 'unknown key'));
      }
      return [fail(key, issue.message)];
    });
    return { errors };
  }
  const data = parsed.data;
  const resolve = (p: string): string => path.resolve(origin.baseDir, expandHome(p, os.homedir()));
  const template: Template = {
    name,
    description: data.description,
    visibility: data.visibility,
    source: origin.source,
    ...(data.system_prompt !== undefined && { systemPrompt: data.system_prompt }),
    ...(data.prompt_file !== undefined && { promptFile: resolve(data.prompt_file) }),
    ...(data.model !== undefined && { model: data.model }),
    ...(data.permission_mode !== undefined && { permissionMode: data.permission_mode }),
    ...(data.tools !== undefined && { tools: data.tools }),
    ...(data.disallowed_tools !== undefined && { disallowedTools: data.disallowed_tools }),
    ...(data.mcp_servers !== undefined && { mcpServers: data.mcp_servers }),
    ...(data.exclude_mcp_servers !== undefined && { excludeMcpServers: data.exclude_mcp_servers }),
    ...(data.exclude_mcp_tags !== undefined && { excludeMcpTags: data.exclude_mcp_tags }),
    ...(data.cwd !== undefined && { cwd: resolve(data.cwd) }),
    ...(data.sandbox !== undefined && { sandbox: { readable: data.sandbox.readable.map(resolve), writable: data.sandbox.writable.map(resolve) } }),
  };
  return { template };
}

// Restricted built-ins allow no MCP server: MCP access for a restricted template is an allowlist.
const builtInYaml = `
coder:
  description: Writes and changes code in the working directory, with every tool.
  system_prompt: |-
    You are working in a software repository. Read the relevant code before changing it, follow the
    conventions you find, keep each change as small as the task allows, and run the tests that cover it.
    Say what you changed and what you could not verify.

reviewer:
  description: Reviews code and reports findings; cannot edit files or run commands.
  system_prompt: |-
    You are reviewing code. You cannot edit files or run commands. Read the code, point to the exact file
    and line of each problem, explain why it matters, and suggest a fix. Rank findings by severity.
  tools: [Read, Grep, Glob, WebFetch, WebSearch, TodoWrite]
  disallowed_tools: [Edit, Write, MultiEdit, NotebookEdit, Bash]
  mcp_servers: []

researcher:
  description: Investigates questions and reports answers; may run commands but does not edit files.
  system_prompt: |-
    You are researching a question. Read code and documents, run commands to check facts, and report what
    you found with the evidence for it. Do not modify files.
  disallowed_tools: [Edit, Write, MultiEdit, NotebookEdit]
  mcp_servers: []
`;

function parseBuiltIns(): ReadonlyMap<string, Template> {
  const raw = parseYaml(builtInYaml) as Record<string, unknown>;
  const origin: TemplateOrigin = { baseDir: path.dirname(fileURLToPath(import.meta.url)), source: 'built-in' };
  return new Map(Object.entries(raw).map(([name, value]) => [name, parseTemplate(name, value, origin)]));
}

const builtInTemplates = parseBuiltIns();

/**
 * Templates by name, in layers: built-ins, then the configuration, then registrations (newest last).
 * A later layer hides a template of the same name in an earlier one.
 */
export class TemplateRegistry {
  private configTemplates: ReadonlyMap<string, Template> = new Map();
  private readonly registrations: { readonly template: Template }[] = [];

  /** Replaces the configured templates; on any error keeps the previous ones and returns every error. */
  setConfigTemplates(raw: Readonly<Record<string, unknown>>, baseDir: string): readonly TemplateError[] {
    const templates = new Map<string, Template>();
    const errors: TemplateError[] = [];
    for (const [name, value] of Object.entries(raw)) {
      const result = checkTemplate(name, value, { baseDir, source: 'config' });
      if ('errors' in result) errors.push(...result.errors);
      else templates.set(name, result.template);
    }
    if (errors.length === 0) this.configTemplates = templates;
    return errors;
  }

  /** Adds a template above every other layer until disposed; disposing uncovers what it hid. */
  register(template: Template): Disposable {
    if (!templateNamePattern.test(template.name)) {
      throw new TemplateError(template.name, undefined, `not a valid template name (registered by ${template.source})`);
    }
    const registration = { template: { ...template } };
    this.registrations.push(registration);
    return toDisposable(() => {
      const index = this.registrations.indexOf(registration);
      if (index >= 0) this.registrations.splice(index, 1);
    });
  }

  get(name: string): Template | undefined {
    for (let i = this.registrations.length - 1; i >= 0; i--) {
      const template = this.registrations[i]?.template;
      if (template?.name === name) return template;
    }
    return this.configTemplates.get(name) ?? builtInTemplates.get(name);
  }

  /** Every template in effect, sorted by name; hidden ones only when asked for. */
  list(options: { includeHidden?: boolean } = {}): Template[] {
    const names = new Set([
      ...builtInTemplates.keys(),
      ...this.configTemplates.keys(),
      ...this.registrations.map(({ template }) => template.name),
    ]);
    return [...names]
      .sort()
      .map((name) => this.get(name))
      .filter((template): template is Template => template !== undefined)
      .filter((template) => options.includeHidden === true || template.visibility === 'public');
  }

  /**
   * The overrides a session started with this template gets. No template means none; a template that
   * does not exist or cannot be read fails closed, so a typo never runs a session with every tool.
   */
  overridesFor(name: string | undefined): SessionOverrides {
    if (name === undefined) return {};
    const template = this.get(name);
    if (template === undefined) return { failClosed: `unknown template "${name}"` };
    let systemPrompt = template.systemPrompt;
    if (template.promptFile !== undefined) {
      try {
        systemPrompt = fs.readFileSync(template.promptFile, 'utf8');
      } catch (error) {
        return { failClosed: `template "${name}": cannot read prompt file ${template.promptFile}: ${messageOf(error)}` };
      }
    }
    return {
      ...(systemPrompt !== undefined && { systemPrompt }),
      ...(template.model !== undefined && { model: template.model }),
      ...(template.tools !== undefined && { tools: template.tools }),
      ...(template.disallowedTools !== undefined && { disallowedTools: template.disallowedTools }),
      ...(template.mcpServers !== undefined && { mcpServers: template.mcpServers }),
      ...(template.excludeMcpServers !== undefined && { excludeMcpServers: template.excludeMcpServers }),
      ...(template.excludeMcpTags !== undefined && { excludeMcpTags: template.excludeMcpTags }),
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

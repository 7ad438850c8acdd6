import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parse as parseYamlValue, parseDocument, visit, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { duration, size } from './config-values.ts';
import { parseEnvFile } from './env-file.ts';
import { expandHome } from '../util/files.ts';

const permissionModes = ['acceptEdits', 'bypassPermissions', 'default', 'dontAsk', 'plan'] as const;

const engineSchema = z.strictObject({
  claude_path: z.string().min(1).nullable().default(null),
  permission_mode: z.enum(permissionModes).default('bypassPermissions'),
  model: z.string().min(1).nullable().default(null),
  partial_messages: z.boolean().default(false),
  extra_args: z.array(z.string()).default([]),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), z.string().nullable()).default({}),
  interrupt_grace: duration.default(10_000),
  gateway_mode: z.boolean().default(false),
});

const sessionsSchema = z.strictObject({
  max_per_user: z.number().int().min(1).default(8),
  idle_timeout: duration.default(30 * 60_000),
  prompt_timeout: duration.default(30 * 60_000),
  default_cwd: z.string().min(1).default('~'),
});

/** `HOST:PORT` or `[IPv6]:PORT`; port 0 picks a free one (kept across restarts when it stays free). */
const listenAddress = z.string().transform((text, ctx) => {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not HOST:PORT (for example 127.0.0.1:0)` });
    return z.NEVER;
  }
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
});

const mcpSchema = z.strictObject({
  listen: listenAddress.default({ host: '127.0.0.1', port: 0 }),
  connect_timeout: duration.default(30_000),
});

const logsSchema = z.strictObject({
  max_bytes: size.default(10 * 1024 ** 2),
  keep: z.number().int().min(0).default(5),
});

const configSchema = z.strictObject({
  state_dir: z.string().min(1).default('~/.claude-ext'),
  log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  engine: engineSchema.default(() => engineSchema.parse({})),
  sessions: sessionsSchema.default(() => sessionsSchema.parse({})),
  logs: logsSchema.default(() => logsSchema.parse({})),
  mcp: mcpSchema.default(() => mcpSchema.parse({})),
  enabled: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'not a valid extension name')).default([]),
  extensions_dirs: z.array(z.string().min(1)).nullable().default(null),
  extensions: z.record(z.string(), z.unknown()).default({}),
  templates: z.record(z.string(), z.unknown()).default({}),
});

type ParsedConfig = z.output<typeof configSchema>;

/** The daemon's configuration, defaults filled in, paths absolute, durations in ms, sizes in bytes. */
export interface Config extends Omit<ParsedConfig, 'extensions_dirs'> {
  readonly extensions_dirs: string[];
}

export interface LoadedConfig {
  readonly config: Config;
  readonly warnings: string[];
  /** The file read, or undefined when the embedded defaults were used. */
  readonly file: string | undefined;
  /** Variables from the `.env` file next to the config (the process environment wins over them). */
  readonly env: Record<string, string>;
  /** `file:line` of a key path in the file, for error messages about extension sections. */
  locate(keyPath: readonly (string | number)[]): string | undefined;
}

export interface LoadOptions {
  /** `--config FILE`; without it `./config.yaml` when present, else the embedded defaults. */
  readonly configPath?: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A configuration that cannot be used: names the file, the line and the key when they are known. */
export class ConfigError extends Error {
  constructor(
    readonly detail: string,
    readonly file?: string,
    readonly line?: number,
    readonly key?: string,
  ) {
    super(`${file ? `${file}${line ? `:${line}` : ''}: ` : ''}${key ? `${key}: ` : ''}${detail}`);
    this.name = 'ConfigError';
  }
}

/** Which config file a command uses: `--config`, else ./config.yaml when it exists, else none. */
export function resolveConfigPath(options: LoadOptions): string | undefined {
  if (options.configPath) return path.resolve(options.cwd, options.configPath);
  const local = path.join(options.cwd, 'config.yaml');
  return fs.existsSync(local) ? local : undefined;
}

export function loadConfig(options: LoadOptions): LoadedConfig {
  const file = resolveConfigPath(options);
  const baseDir = file ? path.dirname(file) : options.cwd;
  const dotEnv = readDotEnv(path.join(baseDir, '.env'));
  const lookup = (name: string): string | undefined => options.env[name] ?? dotEnv[name];
  let source = '';
  if (file) {
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read the configuration: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, file);
    }
  }
  const parsed = parseConfigText(source, { file, lookup, baseDir, home: options.env.HOME ?? os.homedir() });
  const stateOverride = options.env.CLAUDE_EXT_STATE_DIR;
  const config = stateOverride ? withStateDir(parsed.config, path.resolve(options.cwd, expandHome(stateOverride, options.env.HOME ?? os.homedir())), parsed.explicitExtensionDirs) : parsed.config;
  return { config, warnings: parsed.warnings, file, env: dotEnv, locate: parsed.locate };
}

function withStateDir(config: Config, stateDir: string, explicitExtensionDirs: boolean): Config {
  return { ...config, state_dir: stateDir, extensions_dirs: explicitExtensionDirs ? config.extensions_dirs : [path.join(stateDir, 'extensions')] };
}

function readDotEnv(file: string): Record<string, string> {
  try {
    return parseEnvFile(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

interface ParseContext {
  readonly file: string | undefined;
  readonly lookup: (name: string) => string | undefined;
  readonly baseDir: string;
  readonly home: string;
}

/** Parses and validates config text; exported for tests. */
export function parseConfigText(
  source: string,
  context: ParseContext,
): { config: Config; warnings: string[]; explicitExtensionDirs: boolean; locate: LoadedConfig['locate'] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new ConfigError(`invalid YAML: ${firstError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, context.file, line);
  }
  const lineOf = (node: Node | null | undefined): number | undefined => (node?.range ? lineCounter.linePos(node.range[0]).line : undefined);
  const locateLine = (keyPath: readonly PropertyKey[]): number | undefined => lineOf(findNode(doc, keyPath));
  const locate = (keyPath: readonly (string | number)[]): string | undefined => {
    const line = locateLine(keyPath);
    return context.file ? `${context.file}${line ? `:${line}` : ''}` : undefined;
  };
  const fail = (keyPath: readonly PropertyKey[], message: string): never => {
    throw new ConfigError(message, context.file, locateLine(keyPath), keyPath.map(String).join('.') || undefined);
  };

  const warnings: string[] = [];
  substituteVariables(doc, context.lookup, (nodePath, message) => fail(nodePath, message), (nodePath, message) => {
    const line = locateLine(nodePath);
    warnings.push(`${context.file ?? 'config'}${line ? `:${line}` : ''}: ${nodePath.map(String).join('.')}: ${message}`);
  });

  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail([], 'the configuration must be a mapping of keys to values');

  dropNullSettings(raw as Record<string, unknown>);
  let result = configSchema.safeParse(raw);
  if (!result.success) {
    const unknown = result.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    const real = result.error.issues.find((issue) => issue.code !== 'unrecognized_keys');
    if (real) fail(real.path, real.message);
    const unknownPaths = unknown.flatMap((issue) => issue.keys.map((key) => [...issue.path, key]));
    const lines = new Map(unknownPaths.map((keyPath) => [keyPath, locateLine(keyPath)]));
    unknownPaths.sort((a, b) => (lines.get(a) ?? 0) - (lines.get(b) ?? 0));
    for (const keyPath of unknownPaths) {
      const line = lines.get(keyPath);
      warnings.push(`${context.file ?? 'config'}${line ? `:${line}` : ''}: unknown key ${keyPath.map(String).join('.')} (ignored)`);
      removeKey(raw as Record<string, unknown>, keyPath);
    }
    result = configSchema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      fail(issue?.path ?? [], issue?.message ?? 'invalid');
    }
  }
  const data = (result as { data: ParsedConfig }).data;
  const absolute = (p: string): string => path.resolve(context.baseDir, expandHome(p, context.home));
  const stateDir = absolute(data.state_dir);
  for (const name of Object.keys(data.extensions)) {
    if (!data.enabled.includes(name)) continue;
    const section = data.extensions[name];
    if (section !== null && section !== undefined && (typeof section !== 'object' || Array.isArray(section))) fail(['extensions', name], 'must be a mapping');
  }
  const config: Config = {
    ...data,
    state_dir: stateDir,
    engine: { ...data.engine, claude_path: data.engine.claude_path ? absolute(data.engine.claude_path) : null },
    sessions: { ...data.sessions, default_cwd: absolute(data.sessions.default_cwd) },
    extensions_dirs: data.extensions_dirs ? data.extensions_dirs.map(absolute) : [path.join(stateDir, 'extensions')],
  };
  return { config, warnings, explicitExtensionDirs: data.extensions_dirs !== null, locate };
}

function findNode(doc: Document, keyPath: readonly PropertyKey[]): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (const segment of keyPath) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return found;
      found = (pair.key as Node | null) ?? found;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!item) return found;
      found = item as Node;
      node = item;
    } else {
      return found;
    }
  }
  return found;
}

/** `key:` or `key: ~` with nothing after it means "the default", as it reads. */
function dropNullSettings(raw: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(raw)) {
    if (value === null) delete raw[key];
    else if ((key === 'engine' || key === 'sessions' || key === 'logs' || key === 'mcp') && typeof value === 'object' && !Array.isArray(value)) {
      const section = value as Record<string, unknown>;
      for (const [inner, innerValue] of Object.entries(section)) if (innerValue === null) delete section[inner];
    }
  }
}

function removeKey(root: Record<string, unknown>, keyPath: readonly PropertyKey[]): void {
  let target: unknown = root;
  for (const segment of keyPath.slice(0, -1)) target = (target as Record<PropertyKey, unknown>)[segment];
  if (target && typeof target === 'object') delete (target as Record<PropertyKey, unknown>)[keyPath[keyPath.length - 1] as PropertyKey];
}

const reference = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g;

/**
 * Replaces `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in scalar values (never in keys, never
 * by re-reading YAML text, so a value cannot inject structure). `$${` is a literal `${`. An unquoted
 * scalar takes the type of its value (`${PORT}` becomes a number, an empty one null).
 */
function substituteVariables(
  doc: Document,
  lookup: (name: string) => string | undefined,
  fail: (nodePath: PropertyKey[], message: string) => never,
  warn: (nodePath: PropertyKey[], message: string) => void,
): void {
  visit(doc, {
    Scalar(key, node, ancestry) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const nodePath = keyPathOf(ancestry, node);
      const replaced = node.value.replace(reference, (match: string, name: string | undefined, op: string | undefined, arg: string | undefined) => {
        if (match === '$${') return '${';
        const value = lookup(name as string);
        if (value !== undefined && value !== '') return value;
        if (op === ':-') return arg ?? '';
        if (op === ':?') fail(nodePath, arg ? `${name}: ${arg}` : `environment variable ${name} is required`);
        if (value === undefined) warn(nodePath, `environment variable ${name} is not set; using an empty value`);
        return '';
      });
      if (replaced === node.value) return;
      if (node.type === 'PLAIN') {
        const typed = scalarType(replaced);
        node.value = typeof typed === 'number' || typeof typed === 'boolean' || typed === null ? typed : replaced;
      } else {
        node.value = replaced;
      }
    },
  });
}

function scalarType(text: string): unknown {
  try {
    return parseYamlValue(text) as unknown;
  } catch {
    return text;
  }
}

function keyPathOf(ancestry: readonly unknown[], node: unknown): PropertyKey[] {
  const keyPath: PropertyKey[] = [];
  const chain = [...ancestry, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent) && isScalar(parent.key)) keyPath.push(String(parent.key.value));
    else if (isSeq(parent)) keyPath.push(parent.items.indexOf(child as never));
  }
  return keyPath;
}

import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_STATE_DIR } from './state-dir.ts';
import { permissionModes } from '../shaping/templates.ts';

export { ConfigError, resolveConfigPath, type LoadOptions } from './config-document.ts';
import { duration, size } from './config-values.ts';
import { ConfigError, parseConfigDocument, readConfigDocument, type ConfigDocument, type LoadOptions, type ParseContext } from './config-document.ts';
import { expandHome } from '../util/files.ts';


const engineSchema = z.strictObject({
  claude_path: z.string().min(1).nullable().default(null),
  permission_mode: z.enum(permissionModes).default('bypassPermissions'),
  /** Per user id, a permission mode other than `permission_mode` (a template's own mode wins over both). */
  user_permission_modes: z.record(z.string().min(1), z.enum(permissionModes)).default({}),
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
  /** Warm CLI processes kept at most (each holds about 200 MB); null sizes it from the machine's memory. */
  max_warm: z.number().int().min(1).nullable().default(null),
  prompt_timeout: duration.default(30 * 60_000),
  default_cwd: z.string().min(1).default('~'),
  /** Per user id (and `default` for every other user), the directories sessions may work in. */
  roots: z.record(z.string().min(1), z.array(z.string().min(1)).min(1, 'list at least one directory')).default({}),
});

const pathList = z.array(z.string().min(1)).default([]);

const sandboxSchema = z.strictObject({
  /** `bwrap` confines each session; `none` does not. Unset: bwrap when it works on this machine. */
  mode: z.enum(['bwrap', 'none']).nullable().default(null),
  readable: pathList,
  writable: pathList,
  hidden: pathList,
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

const bridgeSchema = z.strictObject({
  /** Connections the control socket serves at once; one more is answered with an error and closed. */
  max_connections: z.number().int().min(1).default(256),
});

const approvalsSchema = z.strictObject({
  /** A tool call nobody allowed or denied within this is denied. */
  timeout: duration.default(10 * 60_000),
});

const logsSchema = z.strictObject({
  max_bytes: size.default(10 * 1024 ** 2),
  keep: z.number().int().min(0).default(5),
});

const usageSchema = z.strictObject({
  /** A command (argument list, no shell) printing the CLI's get_usage answer as JSON; null asks the claude CLI. */
  command: z.array(z.string().min(1)).min(1, 'give the command and its arguments, e.g. [/usr/local/bin/my-usage]').nullable().default(null),
  /** How long a reading is reused. */
  cache: duration.default(60_000),
  /** How long a reading may take. */
  timeout: duration.refine((ms) => ms >= 1, 'must be at least 1ms').default(20_000),
});

const configSchema = z.strictObject({
  state_dir: z.string().min(1).default(DEFAULT_STATE_DIR),
  log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  engine: engineSchema.default(() => engineSchema.parse({})),
  sessions: sessionsSchema.default(() => sessionsSchema.parse({})),
  logs: logsSchema.default(() => logsSchema.parse({})),
  mcp: mcpSchema.default(() => mcpSchema.parse({})),
  bridge: bridgeSchema.default(() => bridgeSchema.parse({})),
  sandbox: sandboxSchema.default(() => sandboxSchema.parse({})),
  usage: usageSchema.default(() => usageSchema.parse({})),
  approvals: approvalsSchema.default(() => approvalsSchema.parse({})),
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

export function loadConfig(options: LoadOptions): LoadedConfig {
  const document = readConfigDocument(options);
  const parsed = validateConfig(document);
  const stateOverride = options.env.CLAUDE_EXT_STATE_DIR;
  const home = options.env.HOME ?? os.homedir();
  const config = stateOverride ? withStateDir(parsed.config, path.resolve(options.cwd, expandHome(stateOverride, home)), parsed.explicitExtensionDirs) : parsed.config;
  return { config, warnings: parsed.warnings, file: document.file, env: document.dotEnv, locate: parsed.locate };
}

/** Parses and validates config text; exported for tests. */
export function parseConfigText(source: string, context: ParseContext): ReturnType<typeof validateConfig> {
  return validateConfig(parseConfigDocument(source, context));
}

function withStateDir(config: Config, stateDir: string, explicitExtensionDirs: boolean): Config {
  return { ...config, state_dir: stateDir, extensions_dirs: explicitExtensionDirs ? config.extensions_dirs : [path.join(stateDir, 'extensions')] };
}

/** Checks a configuration's values against the schema and fills in the defaults. */
function validateConfig(document: ConfigDocument): { config: Config; warnings: string[]; explicitExtensionDirs: boolean; locate: LoadedConfig['locate'] } {
  const { raw, fail } = document;
  const warnings = [...document.warnings];
  const locateLine = document.lineOf;
  const locate = (keyPath: readonly (string | number)[]): string | undefined => {
    const line = locateLine(keyPath);
    return document.file ? `${document.file}${line ? `:${line}` : ''}` : undefined;
  };
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
      warnings.push(`${document.file ?? 'config'}${line ? `:${line}` : ''}: unknown key ${keyPath.map(String).join('.')} (ignored)`);
      removeKey(raw as Record<string, unknown>, keyPath);
    }
    result = configSchema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      fail(issue?.path ?? [], issue?.message ?? 'invalid');
    }
  }
  const data = (result as { data: ParsedConfig }).data;
  const absolute = (p: string): string => path.resolve(document.baseDir, expandHome(p, document.home));
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
    sessions: { ...data.sessions, default_cwd: absolute(data.sessions.default_cwd), roots: resolveRoots(data.sessions.roots, absolute(data.sessions.default_cwd), absolute) },
    usage: { ...data.usage, command: data.usage.command ? [commandPath(data.usage.command[0] as string, absolute), ...data.usage.command.slice(1)] : null },
    sandbox: { ...data.sandbox, readable: data.sandbox.readable.map(absolute), writable: data.sandbox.writable.map(absolute), hidden: data.sandbox.hidden.map(absolute) },
    extensions_dirs: data.extensions_dirs ? data.extensions_dirs.map(absolute) : [path.join(stateDir, 'extensions')],
  };
  return { config, warnings, explicitExtensionDirs: data.extensions_dirs !== null, locate };
}

/** A command given as a path (`./bin/x`, `~/x`) is taken from the config file's directory; a bare name is looked up on PATH. */
function commandPath(command: string, absolute: (p: string) => string): string {
  return command.includes('/') ? absolute(command) : command;
}

/** Absolute roots per user; without a `default` entry every other user may work under `default_cwd`. */
function resolveRoots(roots: Record<string, string[]>, defaultCwd: string, absolute: (p: string) => string): Record<string, string[]> {
  const resolved: Record<string, string[]> = { default: [defaultCwd] };
  for (const [user, dirs] of Object.entries(roots)) resolved[user] = dirs.map(absolute);
  return resolved;
}

function removeKey(root: Record<string, unknown>, keyPath: readonly PropertyKey[]): void {
  let target: unknown = root;
  for (const segment of keyPath.slice(0, -1)) target = (target as Record<PropertyKey, unknown>)[segment];
  if (target && typeof target === 'object') delete (target as Record<PropertyKey, unknown>)[keyPath[keyPath.length - 1] as PropertyKey];
}

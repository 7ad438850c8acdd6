import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parse as parseYamlValue, parseDocument, visit, type Document, type Node } from 'yaml';
import { resolveConfigPath, type LoadOptions } from './config-path.ts';
import { parseEnvFile } from './env-file.ts';

export { resolveConfigPath, type LoadOptions };

/*
 * Reading config.yaml up to its plain values: which file, its `.env`, YAML with line numbers, `${VAR}`
 * substitution. No schema here, so a client that needs only where the daemon lives stays light.
 */

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

/** The configuration file read and parsed, before the schema: plain values and where each key is. */
export interface ConfigDocument {
  readonly file: string | undefined;
  /** Relative paths in the configuration start here: the file's directory (else the cwd). */
  readonly baseDir: string;
  readonly home: string;
  /** Variables from the `.env` file next to the config (the process environment wins over them). */
  readonly dotEnv: Record<string, string>;
  /** The values, `${VAR}` substituted and empty settings dropped. */
  readonly raw: Record<string, unknown>;
  readonly warnings: string[];
  /** The line of a key path in the file. */
  lineOf(keyPath: readonly PropertyKey[]): number | undefined;
  /** Throws a ConfigError naming the file, the line of `keyPath` and the key. */
  fail(keyPath: readonly PropertyKey[], message: string): never;
}

/** Reads the configuration a command uses (`--config`, ./config.yaml, or none: the defaults). */
export function readConfigDocument(options: LoadOptions): ConfigDocument {
  const file = resolveConfigPath(options);
  const baseDir = file ? path.dirname(file) : options.cwd;
  const dotEnv = readDotEnv(path.join(baseDir, '.env'));
  let source = '';
  if (file) {
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read the configuration: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, file);
    }
  }
  const context = { file, lookup: (name: string) => options.env[name] ?? dotEnv[name], baseDir, home: options.env.HOME ?? os.homedir() };
  return parseConfigDocument(source, context, dotEnv);
}

export interface ParseContext {
  readonly file: string | undefined;
  readonly lookup: (name: string) => string | undefined;
  readonly baseDir: string;
  readonly home: string;
}

/** Parses config text into its plain values; invalid YAML and a missing required variable throw. */
export function parseConfigDocument(source: string, context: ParseContext, dotEnv: Record<string, string> = {}): ConfigDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new ConfigError(`invalid YAML: ${firstError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, context.file, line);
  }
  const lineOf = (keyPath: readonly PropertyKey[]): number | undefined => {
    const node = findNode(doc, keyPath);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const fail = (keyPath: readonly PropertyKey[], message: string): never => {
    throw new ConfigError(message, context.file, lineOf(keyPath), keyPath.map(String).join('.') || undefined);
  };
  const warnings: string[] = [];
  substituteVariables(doc, context.lookup, (nodePath, message) => fail(nodePath, message), (nodePath, message) => {
    const line = lineOf(nodePath);
    warnings.push(`${context.file ?? 'config'}${line ? `:${line}` : ''}: ${nodePath.map(String).join('.')}: ${message}`);
  });
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail([], 'the configuration must be a mapping of keys to values');
  dropNullSettings(raw as Record<string, unknown>);
  return { file: context.file, baseDir: context.baseDir, home: context.home, dotEnv, raw: raw as Record<string, unknown>, warnings, lineOf, fail };
}

function readDotEnv(file: string): Record<string, string> {
  try {
    return parseEnvFile(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
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

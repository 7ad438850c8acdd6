import { toDisposable, type Disposable } from '../util/disposable.ts';

/**
 * The environment a session's CLI process gets: what Claude Code needs, never the daemon's secrets.
 */
const PASSED_NAMES = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'TMPDIR', 'IS_SANDBOX',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME',
]);
const PASSED_PREFIXES = ['ANTHROPIC_', 'CLAUDE_', 'LC_', 'DISABLE_'];
/** The daemon's own variables, and those that would make the CLI think it runs nested inside itself. */
const NEVER_PASSED_PREFIXES = ['CLAUDE_EXT_'];
const NEVER_PASSED = new Set(['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT', 'CLAUDE_CODE_SSE_PORT']);

export function sessionEnvironment(
  base: NodeJS.ProcessEnv,
  overrides: Readonly<Record<string, string | null>>,
  secretNames: ReadonlySet<string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined || secretNames.has(name) || NEVER_PASSED.has(name)) continue;
    if (NEVER_PASSED_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (PASSED_NAMES.has(name) || PASSED_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Variables kept out of sessions, with how many registrations asked for each. */
export class SecretEnvNames {
  private readonly counts = new Map<string, number>();

  /** Keeps `name` out of every session started from now on, until disposed. */
  mark(name: string): Disposable {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    return toDisposable(() => {
      const left = (this.counts.get(name) ?? 1) - 1;
      if (left > 0) this.counts.set(name, left);
      else this.counts.delete(name);
    });
  }

  get size(): number {
    return this.counts.size;
  }

  names(): Set<string> {
    return new Set(this.counts.keys());
  }
}

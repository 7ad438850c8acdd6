import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../config/config.ts';
import { DisposableStore } from '../util/disposable.ts';
import type { Extension, Health } from './extension-api.ts';
import { createExtensionContext, type ContextDeps } from './extension-context.ts';
import { discoverExtensions, importExtension, startOrder, type ExtensionCandidate } from './extension-loader.ts';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const HEALTH_TIMEOUT_MS = 3_000;

interface Running {
  readonly name: string;
  readonly candidate: ExtensionCandidate;
  readonly make: () => Extension;
  readonly extension: Extension;
  readonly store: DisposableStore;
  /** Shared with the extension's context, whose `config` reads it. */
  readonly live: { config: unknown };
}

/** One enabled extension that is ready to start: its code, its validated config. */
interface Prepared {
  readonly candidate: ExtensionCandidate;
  readonly make: () => Extension;
  readonly extension: Extension;
  readonly config: unknown;
}

export interface ExtensionStatus {
  readonly name: string;
  readonly state: 'running' | 'failed';
  readonly health: Health;
  readonly dir?: string;
}

export interface ApplyReport {
  readonly started: string[];
  readonly stopped: string[];
  readonly reconfigured: string[];
  readonly failed: Record<string, string>;
  readonly warnings: string[];
}

/**
 * Loads, starts, reconfigures and stops extensions to match the configuration. Everything an
 * extension registers lives in its own DisposableStore, so stopping it or a failed start leaves
 * nothing behind.
 */
export class ExtensionHost {
  private readonly running = new Map<string, Running>();
  private readonly failed = new Map<string, string>();
  private order: string[] = [];
  private applying: Promise<unknown> = Promise.resolve();
  /** Set by stopAll: a start or reload still running starts nothing more. */
  private stopped = false;
  /** Extensions whose stop() was called and has not returned (or failed) yet, timed out or not. */
  private readonly stopsRunning = new Set<string>();

  constructor(
    private readonly deps: ContextDeps,
    /** The project's own `extensions/` directory, searched before `extensions_dirs`. */
    private readonly builtinDir: string,
  ) {
    deps.health = () => this.status();
  }

  /**
   * Brings the running extensions in line with `config`. With `strict` (a reload), any invalid
   * extension config, unknown or cyclic dependency refuses the whole change and nothing moves;
   * at start-up the daemon goes on without the extensions in error.
   */
  apply(config: Config, options: { strict: boolean; locate?: (keyPath: (string | number)[]) => string | undefined }): Promise<ApplyReport> {
    const next = this.applying.then(() => this.applyNow(config, options));
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyNow(config: Config, options: { strict: boolean; locate?: (keyPath: (string | number)[]) => string | undefined }): Promise<ApplyReport> {
    const { found, warnings } = discoverExtensions([this.builtinDir, ...config.extensions_dirs]);
    const errors = new Map<string, string>();
    const prepared = new Map<string, Prepared>();
    for (const name of new Set(config.enabled)) {
      const candidate = found.get(name);
      if (!candidate) {
        errors.set(name, `extension "${name}" is enabled but was not found in ${[this.builtinDir, ...config.extensions_dirs].join(', ')}`);
        continue;
      }
      try {
        const current = this.running.get(name);
        const unchanged = current !== undefined && current.candidate.version === candidate.version;
        const make = unchanged ? current.make : await importExtension(candidate);
        const extension = unchanged ? current.extension : make();
        prepared.set(name, { candidate, make, extension, config: validateConfig(extension, config.extensions[name], options.locate) });
      } catch (error) {
        errors.set(name, (error as Error).message);
      }
    }
    for (const [name, item] of prepared) {
      const missing = (item.extension.dependencies ?? []).filter((dependency) => !prepared.has(dependency));
      if (missing.length > 0) errors.set(name, `extension "${name}" needs ${missing.map((m) => `"${m}"`).join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not enabled or not loadable`);
    }
    let order: string[];
    try {
      order = startOrder(new Map([...prepared].map(([name, item]) => [name, item.extension])));
    } catch (error) {
      if (options.strict) throw new ConfigError((error as Error).message);
      errors.set('(dependencies)', (error as Error).message);
      order = [];
    }
    if (options.strict && errors.size > 0) throw new ConfigError([...errors.values()].join('; '));
    dropWithDependents(prepared, errors);
    order = order.filter((name) => prepared.has(name));

    const report: ApplyReport = { started: [], stopped: [], reconfigured: [], failed: {}, warnings };
    const restart = new Set<string>();
    for (const [name, current] of this.running) {
      const item = prepared.get(name);
      if (!item || item.candidate.version !== current.candidate.version) restart.add(name);
    }
    for (const [name, current] of this.running) {
      const item = prepared.get(name);
      if (!item || restart.has(name) || isDeepStrictEqual(item.config, current.live.config)) continue;
      if (!current.extension.reconfigure) {
        restart.add(name);
        continue;
      }
      try {
        current.live.config = item.config;
        await current.extension.reconfigure(item.config);
        report.reconfigured.push(name);
        this.deps.eventLog.record('extension_reconfigured', { extension: name });
      } catch (error) {
        this.deps.logger.error(`extension ${name} could not apply its new configuration; restarting it`, { error: (error as Error).message });
        restart.add(name);
      }
    }
    for (const name of this.dependentsOf(restart)) restart.add(name);
    for (const name of [...this.order].reverse()) {
      if (!restart.has(name) || !this.running.has(name)) continue;
      await this.stopOne(name);
      report.stopped.push(name);
    }

    this.failed.clear();
    for (const [name, reason] of errors) {
      if (!name.startsWith('(')) this.failed.set(name, reason);
      report.failed[name] = reason;
      this.deps.logger.error(`extension ${name} is not running: ${reason}`);
      this.deps.eventLog.record('extension_failed', { extension: name, error: reason });
    }
    for (const name of order) {
      if (this.running.has(name)) continue;
      const item = prepared.get(name) as Prepared;
      const down = (item.extension.dependencies ?? []).filter((dependency) => !this.running.has(dependency));
      const reason = down.length > 0 ? `its dependencies ${down.join(', ')} are not running` : await this.startOne(name, item);
      if (reason) {
        this.failed.set(name, reason);
        report.failed[name] = reason;
      } else {
        report.started.push(name);
      }
    }
    this.order = order.filter((name) => this.running.has(name));
    return report;
  }

  /** Starts one extension; returns why it failed, having undone all it registered. */
  private async startOne(name: string, item: Prepared): Promise<string | undefined> {
    if (this.stopped) return 'the daemon is stopping';
    const store = new DisposableStore();
    const live = { config: item.config };
    let extension: Extension | undefined;
    let starting: Promise<void> | undefined;
    try {
      extension = item.make();
      const ctx = createExtensionContext(this.deps, name, item.candidate.dir, live, store);
      starting = Promise.resolve(extension.start(ctx));
      await withTimeout(starting, START_TIMEOUT_MS, `start() did not finish within ${START_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      const reason = `start failed: ${(error as Error).message}`;
      disposeQuietly(store, this.deps, name);
      // What a half-done start set up outside its context (a polling loop, say) is ended by stop().
      const failed = extension;
      void (starting ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => failed?.stop?.())
        .catch((stopError: unknown) => this.deps.logger.warn(`extension ${name}: stop after a failed start failed`, { error: (stopError as Error).message }));
      this.deps.logger.error(`extension ${name}: ${reason}; the daemon goes on without it`);
      this.deps.eventLog.record('extension_failed', { extension: name, error: reason });
      return reason;
    }
    this.running.set(name, { name, candidate: item.candidate, make: item.make, extension, store, live });
    this.deps.logger.info(`extension ${name} started`);
    this.deps.eventLog.record('extension_started', { extension: name });
    return undefined;
  }

  /**
   * Calls the extension's stop() and waits for it up to `timeoutMs`, then undoes everything it
   * registered either way: one that does not return is given up on, not waited for.
   */
  private async stopOne(name: string, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    const current = this.running.get(name);
    if (!current) return;
    this.running.delete(name);
    try {
      if (current.extension.stop) {
        const stopping = Promise.resolve(current.extension.stop());
        this.stopsRunning.add(name);
        const settled = (): boolean => this.stopsRunning.delete(name);
        stopping.then(settled, settled);
        await withTimeout(stopping, Math.max(0, timeoutMs), `stop() did not finish within ${Math.round(Math.max(0, timeoutMs) / 100) / 10} s`);
      }
    } catch (error) {
      this.deps.logger.error(`extension ${name}: ${(error as Error).message}`);
    }
    disposeQuietly(current.store, this.deps, name);
    this.deps.logger.info(`extension ${name} stopped`);
    this.deps.eventLog.record('extension_stopped', { extension: name });
  }

  /**
   * Stops every extension, dependents first. With a deadline (a time in ms since the epoch) the
   * whole takes no longer: an extension whose turn comes after it is still told to stop and its
   * registrations undone, but not waited for, and neither is a start or reload still running.
   */
  async stopAll(options: { deadline?: number } = {}): Promise<void> {
    this.stopped = true;
    const deadline = options.deadline ?? Infinity;
    const left = (): number => Math.min(STOP_TIMEOUT_MS, deadline - Date.now());
    if (deadline === Infinity) await this.applying;
    else await withTimeout(this.applying, Math.max(0, deadline - Date.now()), 'an extension start or reload is still running').catch(() => undefined);
    for (const name of [...this.order].reverse()) await this.stopOne(name, left());
    for (const name of [...this.running.keys()]) await this.stopOne(name, left());
    this.order = [];
  }

  /** Extensions whose stop() has been called and has not returned yet. */
  unfinishedStops(): string[] {
    return [...this.stopsRunning];
  }

  /** Running extensions that (transitively) depend on one of `names`. */
  private dependentsOf(names: ReadonlySet<string>): Set<string> {
    const result = new Set<string>();
    let grew = true;
    while (grew) {
      grew = false;
      for (const [name, current] of this.running) {
        if (result.has(name) || names.has(name)) continue;
        const deps = [...(current.extension.dependencies ?? [])];
        if (deps.some((dependency) => names.has(dependency) || result.has(dependency))) {
          result.add(name);
          grew = true;
        }
      }
    }
    return result;
  }

  runningNames(): string[] {
    return [...this.order];
  }

  /** Every enabled extension with its health; a check that hangs counts as an error. */
  async status(): Promise<ExtensionStatus[]> {
    const entries: Promise<ExtensionStatus>[] = [];
    for (const name of this.order) {
      const current = this.running.get(name);
      if (!current) continue;
      entries.push(
        checkHealth(current.extension).then((health) => ({ name, state: 'running' as const, health, dir: current.candidate.dir })),
      );
    }
    for (const [name, reason] of this.failed) entries.push(Promise.resolve({ name, state: 'failed' as const, health: { status: 'error' as const, reason } }));
    return Promise.all(entries);
  }
}

function validateConfig(extension: Extension, raw: unknown, locate?: (keyPath: (string | number)[]) => string | undefined): unknown {
  if (!extension.configSchema) return raw ?? {};
  const parsed = extension.configSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const keyPath = ['extensions', extension.name, ...(issue?.path ?? []).map((part) => (typeof part === 'number' ? part : String(part)))];
  const where = locate?.(keyPath);
  throw new ConfigError(`${where ? `${where}: ` : ''}${keyPath.join('.')}: ${issue?.message ?? 'invalid'}`);
}

/** Removes extensions in error and, transitively, those that need them. */
function dropWithDependents(prepared: Map<string, Prepared>, errors: Map<string, string>): void {
  for (const name of errors.keys()) prepared.delete(name);
  let changed = true;
  while (changed) {
    changed = false;
    for (const [name, item] of prepared) {
      const gone = (item.extension.dependencies ?? []).find((dependency) => !prepared.has(dependency));
      if (gone) {
        prepared.delete(name);
        errors.set(name, `its dependency "${gone}" is not running`);
        changed = true;
      }
    }
  }
}

async function checkHealth(extension: Extension): Promise<Health> {
  if (!extension.healthCheck) return { status: 'ok' };
  try {
    return await withTimeout(Promise.resolve(extension.healthCheck()), HEALTH_TIMEOUT_MS, `the health check did not answer within ${HEALTH_TIMEOUT_MS / 1000} s`);
  } catch (error) {
    return { status: 'error', reason: (error as Error).message };
  }
}

function disposeQuietly(store: DisposableStore, deps: ContextDeps, name: string): void {
  try {
    store.dispose();
  } catch (error) {
    deps.logger.error(`extension ${name}: some of its registrations failed to undo`, { error: (error as Error).message });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

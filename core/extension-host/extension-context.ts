import os from 'node:os';
import path from 'node:path';
import type { MethodAccess } from '../bridge/bridge-protocol.ts';
import type { Contributions } from './contributions.ts';
import { DisposableStore, toDisposable, type Disposable } from '../util/disposable.ts';
import type { ClaudeEngine } from '../sessions/engine.ts';
import type { EventLog } from '../sessions/event-log.ts';
import type { z } from 'zod';
import type { BridgeCall, BridgeHandler, ExtensionApprovals, ExtensionContext, Health, ServiceAccess } from './extension-api.ts';
import { ApprovalNotFoundError, RuleNotFoundError } from '../approvals/approval-errors.ts';
import { actingUser, visibleUser } from './acting-user.ts';
import { callMethod } from './extension-calls.ts';
import { extensionSessions } from './extension-sessions.ts';
import { parseParams } from '../bridge/bridge-params.ts';
import { ensurePrivateDir, expandHome } from '../util/files.ts';
import type { Logger } from '../util/log.ts';
import { RpcError, RpcErrorCode } from '../bridge/rpc-protocol.ts';
import type { RpcServer } from '../bridge/rpc-server.ts';
import { NO_ADMIN_CREDENTIAL, type AdminCredential } from '../bridge/credentials.ts';
import type { TemplateRegistry } from '../shaping/templates.ts';
import type { ExtensionUsage } from '../usage/usage-types.ts';

/** The daemon parts an extension's context registers into. */
export interface ContextDeps {
  readonly engine: ClaudeEngine;
  /** Tool calls waiting for a person (absent in tests that do not need them). */
  readonly approvals?: ExtensionApprovals;
  readonly server: RpcServer;
  readonly contributions: Contributions;
  readonly templates: TemplateRegistry;
  readonly eventLog: EventLog;
  readonly usage: ExtensionUsage;
  readonly logger: Logger;
  readonly stateDir: string;
  /** Live timers of all extensions, so a test can see that none is left. */
  readonly timers: Set<NodeJS.Timeout>;
  /** The daemon's environment with `.env` filled in. */
  readonly env: () => Readonly<Record<string, string | undefined>>;
  /** Where relative paths in the configuration start: the config file's directory. */
  readonly configDir: () => string;
  /** The credential the daemon accepts as the admin's (none: nothing matches). */
  readonly adminCredential?: AdminCredential;
  /** Set by the host: the health of every enabled extension. */
  health?: () => Promise<Array<{ name: string; state: string; health: Health }>>;
}

/** Builds an extension's context; everything it registers is added to `store`. */
export function createExtensionContext<Config>(
  deps: ContextDeps,
  name: string,
  extensionDir: string,
  live: { readonly config: unknown },
  store: DisposableStore,
): ExtensionContext<Config> {
  const logger = deps.logger.child(name);
  const own = <T extends Disposable>(disposable: T): T => store.add(disposable);
  const services: ServiceAccess = {
    get<T>(service: string): T {
      const found = deps.contributions.findService<T>(service);
      if (found === undefined) throw new Error(`extension ${name} needs the service "${service}", which no running extension provides`);
      return found;
    },
    find: <T>(service: string) => deps.contributions.findService<T>(service),
  };
  const timer = (kind: 'timeout' | 'interval', callback: () => void, ms: number): Disposable => {
    const run = (): void => {
      if (kind === 'timeout') deps.timers.delete(handle);
      try {
        const result: unknown = callback();
        if (result instanceof Promise) result.catch((error: unknown) => logger.error('a timer callback failed', { error: (error as Error).message }));
      } catch (error) {
        logger.error('a timer callback failed', { error: (error as Error).message });
      }
    };
    const handle = kind === 'timeout' ? setTimeout(run, ms) : setInterval(run, ms);
    handle.unref();
    deps.timers.add(handle);
    return own(
      toDisposable(() => {
        clearTimeout(handle);
        deps.timers.delete(handle);
      }),
    );
  };

  return {
    name,
    get config() {
      return live.config as Config;
    },
    logger,
    dataDir: privateDataDir(deps.stateDir, name),
    stateDir: deps.stateDir,
    get env() {
      return deps.env();
    },
    resolvePath: (configured) => path.resolve(deps.configDir(), expandHome(configured, os.homedir())),
    extensionDir,
    sessions: extensionSessions(deps.engine, store),
    usage: {
      current: (maxAgeMs) => deps.usage.current(maxAgeMs),
      costs: (options) => deps.usage.costs(options),
      sessionCosts: (user) => deps.usage.sessionCosts(user),
    },
    approvals: deps.approvals ?? NO_APPROVALS,
    services,
    listTemplates: () => deps.templates.list().map((t) => ({ name: t.name, description: t.description })),
    extensionsHealth: () => (deps.health ? deps.health() : Promise.resolve([])),
    provideService: (service, value) => own(deps.contributions.provideService(name, service, value)),
    addTools: (spec) => own(deps.contributions.addTools(name, spec)),
    addMcpServer: (spec) => own(deps.contributions.addMcpServer(name, spec)),
    addSystemPrompt: (fragment) => own(deps.contributions.addSystemPrompt(name, fragment)),
    addBridgeMethod: (method, spec, handler) => own(registerBridgeMethod(deps, name, method, spec.params, spec.access ?? 'session', handler as BridgeHandler<z.ZodType, MethodAccess>)),
    onEvent: (callback) => own(deps.engine.onDelivery(callback)),
    addFrontend: (frontend) => own(deps.engine.addFrontend(name, frontend)),
    addSessionCustomizer: (customizer) => own(deps.contributions.addCustomizer(name, customizer)),
    addPrePromptHook: (hook) => own(deps.contributions.addPrePromptHook(name, hook)),
    addTemplate: (template) => own(deps.templates.register({ ...template, source: `extension:${name}` })),
    markSecretEnv: (variable) => own(deps.engine.markSecretEnv(variable)),
    hideFromSessions: (hidden) => {
      if (!path.isAbsolute(hidden)) throw new Error(`hideFromSessions needs an absolute path, got ${JSON.stringify(hidden)} (use ctx.resolvePath)`);
      return own(deps.contributions.hideFromSessions(name, hidden));
    },
    addRedactor: (redactor) => own(deps.contributions.addRedactor(name, redactor)),
    publish: (sessionId, kind, data) => deps.engine.publish(sessionId, name, kind, data),
    setTimeout: (callback, ms) => timer('timeout', callback, ms),
    setInterval: (callback, ms) => timer('interval', callback, ms),
    callMethod: (method, params = {}, options = {}) => callMethod(deps.server, method, params, options),
    adminCredential: deps.adminCredential ?? NO_ADMIN_CREDENTIAL,
    record: (type, fields = {}) => deps.eventLog.record(type, { ...fields, extension: name }),
    track: own,
  };
}

/** Approvals where the daemon keeps none: nothing pending, nothing to answer. */
const NO_APPROVALS: ExtensionApprovals = {
  list: () => [],
  get: () => undefined,
  answer: (id) => Promise.reject(new ApprovalNotFoundError(id)),
  rules: () => [],
  revokeRule: (id, by) => {
    throw new RuleNotFoundError(id, by);
  },
};

function privateDataDir(stateDir: string, name: string): string {
  const dir = path.join(stateDir, 'data', name);
  ensurePrivateDir(path.dirname(dir));
  ensurePrivateDir(dir);
  return dir;
}

/**
 * `<extension>.<method>` on the bridge: params validated by the schema, session callers resolved from
 * their token to their session.
 */
function registerBridgeMethod(
  deps: ContextDeps,
  extension: string,
  method: string,
  params: z.ZodType,
  access: MethodAccess,
  handler: BridgeHandler<z.ZodType, MethodAccess>,
): Disposable {
  // A method may be named as callers name it (`cron.create`, e.g. from the extension's protocol.ts).
  const own = method.startsWith(`${extension}.`) ? method.slice(extension.length + 1) : method;
  if (!/^[a-zA-Z][a-zA-Z0-9_.]*$/.test(own)) throw new Error(`bridge method "${method}" of ${extension}: use letters, digits, _ and .`);
  if (typeof (params as Partial<z.ZodType> | undefined)?.safeParse !== 'function' || typeof handler !== 'function') {
    throw new Error(`bridge method "${method}" of ${extension}: declare it as addBridgeMethod(name, { params: <zod schema>, access }, handler)`);
  }
  return deps.server.register(
    `${extension}.${own}`,
    (raw, ctx) => {
      const principal = ctx.principal ?? { kind: 'anonymous' as const };
      const session = principal.kind === 'session' ? deps.engine.getSession(principal.sessionId) : undefined;
      if (principal.kind === 'session' && !session) throw new RpcError(RpcErrorCode.Unauthorized, 'the session of this credential no longer exists');
      const call: BridgeCall = {
        principal,
        session,
        get signal() {
          return ctx.signal;
        },
        progress: ctx.progress,
        ...(ctx.actingFor !== undefined ? { actingFor: ctx.actingFor } : {}),
        actingUser: (requested) => actingUser(principal, session?.user, requested, ctx.actingFor),
        visibleUser: (requested) => visibleUser(principal, session?.user, requested, ctx.actingFor),
      };
      return handler(parseParams(params, raw), call);
    },
    { access, owner: extension },
  );
}

/**
 * Runs one extension against a stand-in context, without a daemon: its bridge methods are called as
 * the bridge calls them (params checked by the method's schema first, then the handler with the
 * admin or a session as the caller), so a test sees what a tool or the terminal would see.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import type { MethodAccess, Principal } from '../../../core/bridge/bridge-protocol.ts';
import { parseParams } from '../../../core/bridge/bridge-params.ts';
import { actingUser, visibleUser } from '../../../core/extension-host/acting-user.ts';
import type { BridgeCall, Disposable, Extension, ExtensionContext, ExtensionSessions, SessionSummary } from '../../../core/extension-host/extension-api.ts';
import { silentLogger } from '../../../core/util/log.ts';
import assert from 'node:assert/strict';
import { RpcError, RpcErrorCode } from '../../../core/bridge/rpc-protocol.ts';
import { fakeUsage } from '../../support/fake-usage.ts';

interface Method {
  readonly params: z.ZodType;
  readonly access: MethodAccess;
  readonly handler: (params: unknown, call: BridgeCall) => unknown;
}

export interface ExtensionFixture<Config> {
  readonly ctx: ExtensionContext<Config>;
  readonly dataDir: string;
  /** What the extension recorded in the event log. */
  readonly records: Array<{ type: string; fields: Record<string, unknown> | undefined }>;
  /** Calls a bridge method as the admin, or as `session` when given. */
  call<T = unknown>(method: string, params: unknown, session?: SessionSummary): Promise<T>;
  /** Stops the extension and removes its directory. */
  stop(): Promise<void>;
}

/** A session as a bridge method sees its caller. */
export function fakeSession(user: string, fields: Partial<SessionSummary> = {}): SessionSummary {
  const now = new Date().toISOString();
  return {
    id: `s_${user.replace(/\W/g, '')}`,
    user,
    name: 'default',
    cwd: os.tmpdir(),
    labels: {},
    conversationId: 'c',
    status: 'idle',
    warm: false,
    queued: 0,
    counters: { prompts: 0, turns: 0, costUsd: 0 },
    createdAt: now,
    lastActiveAt: now,
    ...fields,
  };
}

const noSessions = new Proxy({} as ExtensionSessions, {
  get: (_target, member) => {
    if (member === 'defaultCwd') return os.tmpdir();
    return () => {
      throw new Error(`this test gives the extension no sessions (it called sessions.${String(member)})`);
    };
  },
});

/**
 * Starts `extension` with `config` (parsed by its schema, as the daemon does) in a fresh data directory;
 * `overrides` replace members of the stand-in context (a fake `sessions`, a recording `addTemplate`).
 */
export async function startExtension<Config>(extension: Extension<Config>, config: unknown = {}, overrides: Partial<ExtensionContext<Config>> = {}): Promise<ExtensionFixture<Config>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `ext-${extension.name}-`));
  const dataDir = path.join(root, 'data', extension.name);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const parsed = (extension.configSchema ? extension.configSchema.parse(config) : config) as Config;
  const methods = new Map<string, Method>();
  const owned: Disposable[] = [];
  const records: ExtensionFixture<Config>['records'] = [];
  const own = (undo: () => void): Disposable => {
    const disposable = { dispose: undo };
    owned.push(disposable);
    return disposable;
  };
  const none = (): Disposable => own(() => undefined);
  const timer = (kind: 'timeout' | 'interval', callback: () => void, ms: number): Disposable => {
    const handle = kind === 'timeout' ? setTimeout(callback, ms) : setInterval(callback, ms);
    handle.unref();
    return own(() => clearTimeout(handle));
  };

  const ctx: ExtensionContext<Config> = {
    name: extension.name,
    config: parsed,
    logger: silentLogger,
    dataDir,
    stateDir: root,
    env: {},
    resolvePath: (configured) => path.resolve(root, configured),
    extensionDir: root,
    sessions: noSessions,
    usage: fakeUsage(),
    approvals: { list: () => [], get: () => undefined, answer: () => Promise.reject(new Error('no approvals in this test')), rules: () => [], revokeRule: () => undefined },
    services: {
      get: (name) => {
        throw new Error(`no service ${name} in this test`);
      },
      find: () => undefined,
    },
    listTemplates: () => [],
    extensionsHealth: async () => [],
    provideService: none,
    addTools: none,
    addMcpServer: none,
    addSystemPrompt: none,
    addBridgeMethod: (name, spec, handler) => {
      const method = name.startsWith(`${extension.name}.`) ? name : `${extension.name}.${name}`;
      methods.set(method, { params: spec.params, access: spec.access ?? 'session', handler: handler as Method['handler'] });
      return own(() => methods.delete(method));
    },
    onEvent: none,
    addFrontend: none,
    addSessionCustomizer: none,
    addPrePromptHook: none,
    addTemplate: none,
    markSecretEnv: none,
    hideFromSessions: none,
    addRedactor: none,
    publish: () => undefined,
    setTimeout: (callback, ms) => timer('timeout', callback, ms),
    setInterval: (callback, ms) => timer('interval', callback, ms),
    adminCredential: { matches: () => false, fingerprint: '' },
    callMethod: () => Promise.reject(new Error('this test offers no other extension\'s bridge methods: pass callMethod in overrides')),
    record: (type, fields) => void records.push({ type, fields }),
    track: (disposable) => {
      owned.push(disposable);
      return disposable;
    },
    ...overrides,
  };

  await extension.start(ctx);

  return {
    ctx,
    dataDir,
    records,
    async call<T>(name: string, raw: unknown, session?: SessionSummary): Promise<T> {
      const method = methods.get(name);
      if (!method) throw new Error(`no bridge method ${name}`);
      if (method.access === 'admin' && session) throw new Error(`${name} is the admin's`);
      if (method.access === 'session' && !session) throw new Error(`${name} is for sessions`);
      const principal: Principal = session ? { kind: 'session', sessionId: session.id, user: session.user, extension: extension.name } : { kind: 'admin' };
      const call: BridgeCall = {
        principal,
        session,
        signal: new AbortController().signal,
        progress: () => undefined,
        actingUser: (requested) => actingUser(principal, session?.user, requested),
        visibleUser: (requested) => visibleUser(principal, session?.user, requested),
      };
      return (await method.handler(parseParams(method.params, raw), call)) as T;
    },
    async stop() {
      await extension.stop?.();
      for (const disposable of owned.reverse()) disposable.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** An InvalidParams error whose message starts with the field's name: for `assert.rejects`. */
export function invalidField(field: string, pattern: RegExp = /./) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof RpcError, String(error));
    assert.equal(error.code, RpcErrorCode.InvalidParams);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

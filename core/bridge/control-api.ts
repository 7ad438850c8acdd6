import { z } from 'zod';
import { DEFAULT_USER } from '../sessions/users.ts';
import type { Disposable } from '../util/disposable.ts';
import { DisposableStore } from '../util/disposable.ts';
import type { MethodAccess } from './bridge-protocol.ts';
import type { ClaudeEngine } from '../sessions/engine.ts';
import type { ExtensionHost } from '../extension-host/extension-host.ts';
import type { TemplateRegistry } from '../shaping/templates.ts';
import { InvalidRequestError, PromptNotFoundError, SessionLimitError, SessionNotFoundError } from '../util/errors.ts';
import type { EngineEvent } from '../sessions/events.ts';
import { typedErrorData } from './error-answer.ts';
import { RpcError, RpcErrorCode } from './rpc-protocol.ts';
import type { RpcCallContext, RpcServer } from './rpc-server.ts';
import type { NewSessionRequest, PromptRecord } from '../sessions/session-types.ts';
import type { DailyCost, ExtensionUsage, SessionCost, UsageSnapshot } from '../usage/usage-types.ts';
import type { ApprovalService } from '../approvals/approval-service.ts';

/** Error codes of the control API beyond JSON-RPC's own. */
export const ControlErrorCode = {
  SessionLimit: -32010,
  SessionNotFound: -32011,
  PromptNotFound: -32012,
  InvalidRequest: -32013,
} as const;

export interface DaemonInfo {
  readonly pid: number;
  readonly startedAt: number;
  readonly version: string;
  readonly stateDir: string;
  readonly configFile: string | undefined;
  readonly claudePath: string;
  readonly host: string;
  /** How sessions are confined, and why not when they are not. */
  readonly sandbox: { readonly mode: 'bwrap' | 'none'; readonly warning?: string };
}

export interface ControlDeps {
  readonly engine: ClaudeEngine;
  readonly usage: ExtensionUsage;
  readonly approvals: ApprovalService;
  readonly info: DaemonInfo;
  readonly extensions: ExtensionHost;
  readonly templates: TemplateRegistry;
  reload(): Promise<{ ok: true; warnings: string[] } | { ok: false; error: string }>;
  /** Whether the sessions on disk have been recovered, and a promise that settles when they are. */
  readonly recovered: () => boolean;
  readonly whenRecovered: Promise<void>;
}

/** The answer of `usage.get`. */
export interface UsageAnswer {
  readonly usage: UsageSnapshot;
  readonly costs: DailyCost[];
  readonly sessions: SessionCost[];
}

const userField = z.string().min(1).max(128).default(DEFAULT_USER);

const schemas = {
  sessionList: z.object({ user: z.string().min(1).optional() }),
  sessionCreate: z.object({ user: userField, name: z.string().min(1).optional(), cwd: z.string().min(1).optional(), template: z.string().min(1).optional() }),
  sessionRef: z.object({ user: z.string().min(1).optional(), session: z.string().min(1) }),
  sessionStop: z.object({ user: z.string().min(1).optional(), session: z.string().min(1), clear: z.boolean().default(false) }),
  promptSubmit: z.object({
    user: userField,
    session: z.string().min(1).optional(),
    new: z.boolean().default(false),
    name: z.string().min(1).optional(),
    cwd: z.string().min(1).optional(),
    template: z.string().min(1).optional(),
    text: z.string().min(1),
    model: z.string().min(1).optional(),
    follow: z.boolean().default(false),
  }),
  approvalList: z.object({ user: z.string().min(1).optional(), all: z.boolean().default(false) }),
  approvalAnswer: z.object({
    id: z.string().min(1),
    decision: z.enum(['allow', 'deny']),
    scope: z.enum(['once', 'session', 'always']).default('once'),
    pattern: z.string().min(1).optional(),
    message: z.string().optional(),
    /** The user answering; absent: the admin. */
    user: z.string().min(1).optional(),
  }),
  ruleList: z.object({ user: z.string().min(1).optional() }),
  ruleRevoke: z.object({ id: z.string().min(1), user: z.string().min(1).optional() }),
  promptWait: z.object({
    user: z.string().min(1).optional(),
    session: z.string().min(1),
    prompt: z.string().min(1).optional(),
    follow: z.boolean().default(false),
  }),
  usageGet: z.object({
    user: z.string().min(1).optional(),
    days: z.number().int().min(1).max(3660).default(7),
    /** A reading no older than this (ms); 0 takes a new one. Default: usage.cache. */
    max_age_ms: z.number().int().min(0).optional(),
  }),
};

/** The daemon's own methods on the control socket: what the CLI speaks. */
export function registerControlApi(server: RpcServer, deps: ControlDeps): Disposable {
  const { engine } = deps;
  const store = new DisposableStore();
  const method = <S extends z.ZodType>(name: string, schema: S, handler: (params: z.output<S>, ctx: RpcCallContext) => unknown, access: MethodAccess = 'admin') => {
    store.add(
      server.register(name, (raw, ctx) => {
        const parsed = schema.safeParse(raw ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new RpcError(RpcErrorCode.InvalidParams, `${name}: ${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}`);
        }
        // Before the sessions are recovered no session is known yet: a call made during a restart waits
        // for them rather than being told a session does not exist.
        if (!deps.recovered()) return deps.whenRecovered.then(() => handler(parsed.data, ctx)).catch((error: unknown) => {
          throw toControlError(error);
        });
        // Not async: a method that answers at once is answered without a promise.
        let result: unknown;
        try {
          result = handler(parsed.data, ctx);
        } catch (error) {
          throw toControlError(error);
        }
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          throw toControlError(error);
        });
      }, { access }),
    );
  };

  method('daemon.status', z.object({}).passthrough(), async () => ({
    ...deps.info,
    uptimeMs: Date.now() - deps.info.startedAt,
    sessions: engine.counts(),
    extensions: await deps.extensions.status(),
  }));

  method('template.list', z.object({ hidden: z.boolean().default(false) }), (p) =>
    deps.templates.list({ includeHidden: p.hidden }).map((t) => ({ name: t.name, description: t.description, source: t.source, visibility: t.visibility })),
  );

  method('daemon.ping', z.object({}).passthrough(), () => ({ pong: true, at: Date.now() }), 'any');

  method('usage.get', schemas.usageGet, async (p): Promise<UsageAnswer> => ({
    usage: await deps.usage.current(p.max_age_ms),
    costs: deps.usage.costs({ days: p.days, ...(p.user ? { user: p.user } : {}) }),
    sessions: deps.usage.sessionCosts(p.user),
  }));

  method('daemon.reload', z.object({}).passthrough(), () => deps.reload());

  method('session.list', schemas.sessionList, (p) => engine.listSessions(p.user));

  method('session.create', schemas.sessionCreate, (p) => engine.createSession({ user: p.user, ...newSessionFields(p) }));

  method('session.delete', schemas.sessionRef, async (p) => {
    const session = engine.findSession(p.session, p.user);
    await engine.deleteSession(session.id);
    return { deleted: session.id };
  });

  method('session.stop', schemas.sessionStop, (p) => engine.stop(p.session, { ...(p.user ? { user: p.user } : {}), clear: p.clear }));

  method('prompt.submit', schemas.promptSubmit, async (p, ctx) => {
    const submitted = engine.submit({
      user: p.user,
      ...(p.session ? { session: p.session } : {}),
      ...(p.new ? { newSession: newSessionFields(p) } : {}),
      text: p.text,
      options: p.model ? { model: p.model } : {},
    });
    const ids = { sessionId: submitted.session.id, sessionName: submitted.session.name, promptId: submitted.prompt.id, position: submitted.position };
    if (!p.follow) return ids;
    ctx.progress({ type: 'submitted', ...ids });
    return { ...ids, prompt: await follow(engine, submitted.session.id, submitted.prompt.id, ctx) };
  });

  method('prompt.wait', schemas.promptWait, async (p, ctx) => {
    const session = engine.findSession(p.session, p.user);
    const promptId = p.prompt ?? engine.latestPromptId(session.id);
    if (!promptId) throw new InvalidRequestError(`session ${session.name} has no prompts yet`);
    const prompt = p.follow ? await follow(engine, session.id, promptId, ctx) : await engine.waitForPrompt(session.id, promptId, ctx.signal);
    return { sessionId: session.id, sessionName: session.name, promptId, prompt };
  });

  method('prompt.get', schemas.promptWait, (p) => {
    const session = engine.findSession(p.session, p.user);
    const promptId = p.prompt ?? engine.latestPromptId(session.id);
    if (!promptId) throw new InvalidRequestError(`session ${session.name} has no prompts yet`);
    return engine.getPrompt(session.id, promptId);
  });

  method('approval.list', schemas.approvalList, (p) => (p.all ? deps.approvals.history(p.user) : deps.approvals.list(p.user)));

  method('approval.answer', schemas.approvalAnswer, async (p) => {
    const answer = p.decision === 'deny'
      ? { decision: 'deny' as const, ...(p.message !== undefined ? { message: p.message } : {}) }
      : { decision: 'allow' as const, scope: p.scope, ...(p.pattern !== undefined ? { pattern: p.pattern } : {}) };
    await deps.approvals.answer(p.id, answer, p.user);
    return { id: p.id, decision: p.decision };
  });

  method('approval.rules', schemas.ruleList, (p) => deps.approvals.rules(p.user));

  method('approval.revokeRule', schemas.ruleRevoke, (p) => {
    deps.approvals.revokeRule(p.id, p.user);
    return { revoked: p.id };
  });

  return store;
}

function newSessionFields(p: { name?: string | undefined; cwd?: string | undefined; template?: string | undefined }): NewSessionRequest {
  return { ...(p.name ? { name: p.name } : {}), ...(p.cwd ? { cwd: p.cwd } : {}), ...(p.template ? { template: p.template } : {}) };
}

/** Streams a prompt's events to the caller as progress and resolves with its finished record. */
async function follow(engine: ClaudeEngine, sessionId: string, promptId: string, ctx: RpcCallContext): Promise<PromptRecord> {
  const watcher = engine.watchPrompt(promptId, (event: EngineEvent) => {
    if (event.type !== 'result') ctx.progress(event);
  });
  try {
    return await engine.waitForPrompt(sessionId, promptId, ctx.signal);
  } finally {
    watcher.dispose();
  }
}

/** The engine's errors with the control API's own codes; anything else as it is, for the server to answer. */
function toControlError(error: unknown): unknown {
  if (error instanceof SessionLimitError) return new RpcError(ControlErrorCode.SessionLimit, error.message, typedErrorData(error));
  if (error instanceof SessionNotFoundError) return new RpcError(ControlErrorCode.SessionNotFound, error.message, typedErrorData(error));
  if (error instanceof PromptNotFoundError) return new RpcError(ControlErrorCode.PromptNotFound, error.message, typedErrorData(error));
  if (error instanceof InvalidRequestError) return new RpcError(ControlErrorCode.InvalidRequest, error.message, typedErrorData(error));
  return error;
}

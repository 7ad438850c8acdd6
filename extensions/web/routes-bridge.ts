/**
 * Cron jobs and the heartbeat: those extensions offer no service, only bridge methods, so these
 * routes call them in-process (`ctx.callMethod`) as the admin acting for the user a user token
 * belongs to: their methods then show and touch that user's jobs only, as for the user's sessions.
 */
import { z } from 'zod';
import { RpcError, RpcErrorCode, type ExtensionContext } from 'claude-ext/extension';
import { HttpError, notFound, route, visibleUser, type Principal, type Route } from './api.ts';

/** Calls a bridge method for a principal; a missing extension is 503, a refused param 400, an unknown job 404. */
export class BridgeMethods {
  constructor(private readonly ctx: Pick<ExtensionContext, 'callMethod'>) {}

  async call<T>(method: string, principal: Principal, params: Record<string, unknown>, signal: AbortSignal): Promise<T> {
    const user = visibleUser(principal);
    try {
      return await this.ctx.callMethod<T>(method, params, { signal, ...(user !== undefined ? { user } : {}) });
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      const dataCode = error.dataCode;
      if (error.code === RpcErrorCode.MethodNotFound) throw new HttpError(503, 'unavailable', `${method.split('.')[0]} is not running: enable it in config.yaml`);
      if (error.code === RpcErrorCode.InvalidParams) throw new HttpError(400, 'invalid_request', error.message, /^([\w.]+):/.exec(error.message)?.[1]);
      if (error.code === RpcErrorCode.Unauthorized) throw new HttpError(403, 'forbidden', error.message);
      if (dataCode?.endsWith('not_found')) throw notFound(error.message.replace(/^no /, ''));
      throw new HttpError(409, dataCode ?? 'refused', error.message);
    }
  }
}

const jobParams = z.object({ id: z.string().min(1).max(100).describe('A job id') });

export function bridgeRoutes(bridge: BridgeMethods): Route[] {
  return [
    route({
      method: 'GET', url: '/api/cron', tag: 'cron', summary: "Cron jobs (the caller's; every user's for the admin), each with its recent runs",
      handler: async ({ principal, signal }) => ({ body: await bridge.call('cron.list', principal, {}, signal) }),
    }),
    route({
      method: 'POST', url: '/api/cron', tag: 'cron', summary: 'Adds a cron job (schedule: cron expression or interval; or run_at once)',
      body: z.strictObject({
        name: z.string().min(1).max(64),
        prompt: z.string().min(1).max(20_000),
        schedule: z.string().min(1).max(200).optional(),
        run_at: z.string().min(1).max(100).optional(),
        session: z.enum(['new', 'reuse']).optional(),
        timezone: z.string().min(1).max(100).optional(),
        user: z.string().min(1).max(128).optional(),
      }),
      handler: async ({ principal, body, signal }) => {
        if (principal.kind === 'user' && body.user !== undefined && body.user !== principal.user) throw new HttpError(403, 'forbidden', `this token acts for user "${principal.user}" only`, 'user');
        return { status: 201, body: await bridge.call('cron.create', principal, body, signal) };
      },
    }),
    ...(['pause', 'resume', 'run_now'] as const).map((action) =>
      route({
        method: 'POST', url: `/api/cron/:id/${action === 'run_now' ? 'run' : action}`, tag: 'cron', params: jobParams,
        summary: action === 'run_now' ? 'Runs a job now' : `${action === 'pause' ? 'Pauses' : 'Resumes'} a job`,
        handler: async ({ principal, params, signal }) => ({ body: await bridge.call(`cron.${action}`, principal, { id: params.id }, signal) }),
      }),
    ),
    route({
      method: 'DELETE', url: '/api/cron/:id', tag: 'cron', summary: 'Deletes a job', params: jobParams,
      handler: async ({ principal, params, signal }) => ({ body: await bridge.call('cron.delete', principal, { id: params.id }, signal) }),
    }),
    route({
      method: 'GET', url: '/api/cron/:id/runs', tag: 'cron', summary: "A job's kept runs, newest first, a page at a time: pass `next` as `offset` for the page before", params: jobParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(20), offset: z.coerce.number().int().min(0).default(0) }),
      handler: async ({ principal, params, query, signal }) => ({ body: await bridge.call('cron.runs', principal, { id: params.id, limit: query.limit, offset: query.offset }, signal) }),
    }),
    route({
      method: 'GET', url: '/api/heartbeat', tag: 'heartbeat', auth: 'admin', summary: "The heartbeat's state and its last checks",
      handler: async ({ signal }) => ({ body: await bridge.call('heartbeat.status', { kind: 'admin' }, {}, signal) }),
    }),
    route({
      method: 'GET', url: '/api/heartbeat/log', tag: 'heartbeat', auth: 'admin', summary: "The heartbeat's log of checks",
      query: z.object({ n: z.coerce.number().int().min(1).max(200).default(20) }),
      handler: async ({ query, signal }) => ({ body: await bridge.call('heartbeat.log', { kind: 'admin' }, { n: query.n }, signal) }),
    }),
    route({
      method: 'POST', url: '/api/heartbeat/pause', tag: 'heartbeat', auth: 'admin', summary: 'Pauses the heartbeat (for minutes, until a time, or until resumed)',
      body: z.strictObject({ minutes: z.number().positive().optional(), until: z.string().min(1).max(100).optional() }).default({}),
      handler: async ({ body, signal }) => ({ body: await bridge.call('heartbeat.pause', { kind: 'admin' }, body, signal) }),
    }),
    route({
      method: 'POST', url: '/api/heartbeat/resume', tag: 'heartbeat', auth: 'admin', summary: 'Resumes the heartbeat',
      handler: async ({ signal }) => ({ body: await bridge.call('heartbeat.resume', { kind: 'admin' }, {}, signal) }),
    }),
    route({
      method: 'POST', url: '/api/heartbeat/trigger', tag: 'heartbeat', auth: 'admin', summary: 'Runs a heartbeat check now',
      handler: async ({ signal }) => ({ body: await bridge.call('heartbeat.trigger', { kind: 'admin' }, {}, signal) }),
    }),
  ];
}

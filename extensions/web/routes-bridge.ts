/**
 * Cron jobs and the heartbeat: those extensions offer no service, only bridge methods, so these
 * routes call them over the daemon's socket with the admin credential, naming the user a user token
 * acts for (their methods then show and touch that user's jobs only, as for the terminal).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RpcError, RpcErrorCode } from 'claude-ext/extension';
import { BridgeClient } from 'claude-ext/mcp';
import { HttpError, notFound, route, visibleUser, type Principal, type Route } from './api.ts';

/** Calls a bridge method as the admin; a missing extension is 503, a refused param 400, an unknown job 404. */
export class AdminBridge {
  private client: BridgeClient | undefined;

  constructor(private readonly stateDir: string) {}

  async call<T>(method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<T> {
    this.client ??= new BridgeClient({
      socketPath: path.join(this.stateDir, 'daemon.sock'),
      token: fs.readFileSync(path.join(this.stateDir, 'admin.token'), 'utf8').trim(),
      reconnect: { giveUpAfterMs: 5000 },
    });
    try {
      return await this.client.call<T>(method, params, { signal, timeoutMs: 30_000 });
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      const dataCode = error.dataCode;
      if (error.code === RpcErrorCode.MethodNotFound) throw new HttpError(503, 'unavailable', `${method.split('.')[0]} is not running: enable it in config.yaml`);
      if (error.code === RpcErrorCode.InvalidParams) throw new HttpError(400, 'invalid_request', error.message, /^([\w.]+):/.exec(error.message)?.[1]);
      if (dataCode?.endsWith('not_found')) throw notFound(error.message.replace(/^no /, ''));
      throw new HttpError(409, dataCode ?? 'refused', error.message);
    }
  }

  close(): void {
    this.client?.close();
  }
}

const jobParams = z.object({ id: z.string().min(1).max(100).describe('A job id') });
const asUser = (principal: Principal): { user?: string } => {
  const user = visibleUser(principal);
  return user === undefined ? {} : { user };
};

interface JobView {
  readonly id: string;
  readonly name: string;
  readonly recent?: unknown[];
}

export function bridgeRoutes(bridge: AdminBridge): Route[] {
  return [
    route({
      method: 'GET', url: '/api/cron', tag: 'cron', summary: "Cron jobs (the caller's; every user's for the admin), each with its recent runs",
      handler: async ({ principal, signal }) => ({ body: await bridge.call('cron.list', asUser(principal), signal) }),
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
        return { status: 201, body: await bridge.call('cron.create', { ...body, ...asUser(principal) }, signal) };
      },
    }),
    ...(['pause', 'resume', 'run_now'] as const).map((action) =>
      route({
        method: 'POST', url: `/api/cron/:id/${action === 'run_now' ? 'run' : action}`, tag: 'cron', params: jobParams,
        summary: action === 'run_now' ? 'Runs a job now' : `${action === 'pause' ? 'Pauses' : 'Resumes'} a job`,
        handler: async ({ principal, params, signal }) => ({ body: await bridge.call(`cron.${action}`, { id: params.id, ...asUser(principal) }, signal) }),
      }),
    ),
    route({
      method: 'DELETE', url: '/api/cron/:id', tag: 'cron', summary: 'Deletes a job', params: jobParams,
      handler: async ({ principal, params, signal }) => ({ body: await bridge.call('cron.delete', { id: params.id, ...asUser(principal) }, signal) }),
    }),
    route({
      method: 'GET', url: '/api/cron/:id/runs', tag: 'cron', summary: "A job's recent runs (the last five, as cron lists them)", params: jobParams,
      handler: async ({ principal, params, signal }) => {
        const jobs = await bridge.call<JobView[]>('cron.list', asUser(principal), signal);
        const job = jobs.find((j) => j.id === params.id || j.name === params.id);
        if (!job) throw notFound(`cron job "${params.id}"`);
        return { body: job.recent ?? [] };
      },
    }),
    route({
      method: 'GET', url: '/api/heartbeat', tag: 'heartbeat', auth: 'admin', summary: "The heartbeat's state and its last checks",
      handler: async ({ signal }) => ({ body: await bridge.call('heartbeat.status', {}, signal) }),
    }),
    route({
      method: 'GET', url: '/api/heartbeat/log', tag: 'heartbeat', auth: 'admin', summary: "The heartbeat's log of checks",
      query: z.object({ n: z.coerce.number().int().min(1).max(200).default(20) }),
      handler: async ({ query, signal }) => ({ body: await bridge.call('heartbeat.log', { n: query.n }, signal) }),
    }),
    route({
      method: 'POST', url: '/api/heartbeat/pause', tag: 'heartbeat', auth: 'admin', summary: 'Pauses the heartbeat (for minutes, until a time, or until resumed)',
      body: z.strictObject({ minutes: z.number().positive().optional(), until: z.string().min(1).max(100).optional() }).default({}),
      handler: async ({ body, signal }) => ({ body: await bridge.call('heartbeat.pause', body, signal) }),
    }),
    route({
      method: 'POST', url: '/api/heartbeat/resume', tag: 'heartbeat', auth: 'admin', summary: 'Resumes the heartbeat',
      handler: async ({ signal }) => ({ body: await bridge.call('heartbeat.resume', {}, signal) }),
    }),
    route({
      method: 'POST', url: '/api/heartbeat/trigger', tag: 'heartbeat', auth: 'admin', summary: 'Runs a heartbeat check now',
      handler: async ({ signal }) => ({ body: await bridge.call('heartbeat.trigger', {}, signal) }),
    }),
  ];
}

/**
 * The web extension's HTTP API end to end: the real claude CLI in tmux against the stand-in model,
 * driven over HTTP with the admin token and with users' API tokens made by `claude-ext token create`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of many shapes, checked by the assertions
  headers: Headers;
}

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** What the stand-in usage.command prints: the CLI's `get_usage` answer for a subscription. */
const USAGE = {
  subscription_type: 'max',
  rate_limits_available: true,
  rate_limits: { five_hour: { utilization: 55, resets_at: '2099-01-01T05:00:00+00:00' }, seven_day: { utilization: 12, resets_at: '2099-01-05T00:00:00Z' } },
  account: { tokenSource: 'claude.ai', apiKeySource: 'none', apiProvider: 'firstParty' },
};

describe('web', () => {
  let world: TestWorld;
  let config: string;
  let base = '';
  let daemon: DaemonProcess;
  const tokens = { admin: '', alice: '', bob: '', dave: '' };

  const cli = (args: string[], options: { stdin?: string } = {}) => runCli(world, [...args, '--config', config], options);
  const http = async (method: string, url: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${base}${url}`, { method, headers, body: options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  const createToken = async (user: string): Promise<string> => {
    const run = await cli(['token', 'create', '--user', user, '--name', `${user}-laptop`, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as { token: string }).token;
  };

  /** Reads a session's event stream until `enough` says so, then disconnects. */
  const readEvents = async (sessionId: string, token: string, lastEventId: string | undefined, enough: (messages: SseMessage[]) => boolean): Promise<SseMessage[]> => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/sessions/${sessionId}/events`, {
      headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const messages: SseMessage[] = [];
    let buffered = '';
    const timer = setTimeout(() => controller.abort(), 30_000);
    try {
      while (!enough(messages)) {
        const { value, done } = await reader.read().catch((error: unknown) => {
          throw new Error(`the stream ended with ${String(error)} after ${JSON.stringify(messages)}`);
        });
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const message: SseMessage = {};
          for (const line of block.split('\n')) {
            const at = line.indexOf(': ');
            if (at <= 0) continue;
            const key = line.slice(0, at) as keyof SseMessage;
            if (key === 'id' || key === 'event' || key === 'data') message[key] = line.slice(at + 2);
          }
          if (message.event) messages.push(message);
        }
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    return messages;
  };

  before(async () => {
    world = await createWorld('web');
    const usageStandIn = path.join(world.root, 'usage-stand-in.mjs');
    fs.writeFileSync(usageStandIn, `process.stdout.write(${JSON.stringify(JSON.stringify(USAGE))});\n`);
    config = writeConfig(
      world,
      [
        'engine:',
        '  partial_messages: true',
        // dave's sessions ask before tool calls; everyone else's run them.
        '  user_permission_modes:',
        '    dave: approve',
        'usage:',
        `  command: [${process.execPath}, ${usageStandIn}]`,
        'enabled: [web, ask_user, cron, heartbeat, vault]',
        'extensions:',
        '  web:',
        '    listen: 127.0.0.1:0',
        '    max_body: 64KiB',
        '',
      ].join('\n'),
    );
    daemon = await startDaemonProcess(world, ['--config', config]);
    const listening = await waitFor('the API to listen', () => readEventLog(world).find((e) => e.type === 'web_listening'));
    base = String(listening.address);
    tokens.admin = fs.readFileSync(path.join(world.stateDir, 'admin.token'), 'utf8').trim();
    tokens.alice = await createToken('alice');
    tokens.bob = await createToken('bob');
    tokens.dave = await createToken('dave');
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('tokens: none, a wrong one and a revoked one are refused; tokens are kept hashed; the OpenAPI document needs none', async () => {
    assert.equal((await http('GET', '/api/sessions')).status, 401);
    assert.equal((await http('GET', '/api/sessions', { token: 'cxt_t_nothing_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' })).status, 401);
    assert.equal((await http('GET', '/api/sessions', { token: `${tokens.admin}x` })).status, 401);
    assert.deepEqual((await http('GET', '/api/whoami', { token: tokens.alice })).body, { admin: false, user: 'alice' });
    assert.deepEqual((await http('GET', '/api/whoami', { token: tokens.admin })).body, { admin: true });
    const stored = fs.readFileSync(path.join(world.stateDir, 'data', 'web', 'tokens.json'), 'utf8');
    assert.ok(!stored.includes(tokens.alice) && !stored.includes(tokens.alice.slice(-32)), 'the secret is not on disk');

    const temporary = await createToken('carol');
    assert.equal((await http('GET', '/api/sessions', { token: temporary })).status, 200);
    const listed = await cli(['token', 'list', '--user', 'carol']);
    assert.match(listed.stdout, /carol-laptop/);
    const revoked = await cli(['token', 'revoke', 'carol-laptop', '--user', 'carol']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await http('GET', '/api/sessions', { token: temporary })).status, 401);

    const doc = await http('GET', '/api/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    const submit = doc.body.paths['/api/sessions/{id}/prompts'].post;
    assert.equal(submit.requestBody.content['application/json'].schema.properties.text.type, 'string');
    assert.ok(doc.body.paths['/api/sessions/{id}/events'].get);
  });

  test("sessions and prompts: create, list, prompt and wait, prompt at once, rename, queue, stop, delete; another user's session is 404", async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: { name: 'web-one' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.user, 'alice');
    const id = created.body.id as string;
    assert.ok((await http('GET', '/api/sessions', { token: tokens.alice })).body.some((s: { id: string }) => s.id === id));
    assert.ok(!(await http('GET', '/api/sessions', { token: tokens.bob })).body.some((s: { id: string }) => s.id === id));
    assert.ok((await http('GET', '/api/sessions', { token: tokens.admin })).body.some((s: { id: string }) => s.id === id));

    for (const [method, url, body] of [
      ['GET', `/api/sessions/${id}`, undefined],
      ['POST', `/api/sessions/${id}/prompts`, { text: '@reply no' }],
      ['GET', `/api/sessions/${id}/events`, undefined],
      ['DELETE', `/api/sessions/${id}`, undefined],
      ['GET', '/api/sessions/no-such-session', undefined],
    ] as const) {
      const answer = await http(method, url, { token: tokens.bob, ...(body ? { body } : {}) });
      assert.equal(answer.status, 404, `${method} ${url}`);
      assert.equal(answer.body.error.code, 'not_found');
    }
    assert.equal((await http('POST', '/api/sessions', { token: tokens.bob, body: { user: 'alice' } })).status, 403);

    const waited = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@reply hello over http', wait: true } });
    assert.equal(waited.status, 200, JSON.stringify(waited.body));
    assert.equal(waited.body.result.text, 'hello over http');

    const queued = await http('POST', `/api/sessions/web-one/prompts`, { token: tokens.alice, body: { text: '@reply later' } });
    assert.equal(queued.status, 202);
    const promptId = queued.body.id as string;
    const result = await http('GET', `/api/sessions/${id}/prompts/${promptId}/result?timeoutSeconds=30`, { token: tokens.alice });
    assert.equal(result.body.result.text, 'later');
    assert.equal((await http('GET', `/api/sessions/${id}/prompts/${promptId}`, { token: tokens.alice })).body.status, 'done');
    assert.equal((await http('GET', `/api/sessions/${id}/prompts/${promptId}`, { token: tokens.bob })).status, 404);
    assert.equal((await http('GET', `/api/sessions/${id}/prompts/p_nothing`, { token: tokens.alice })).status, 404);

    const renamed = await http('PATCH', `/api/sessions/${id}`, { token: tokens.alice, body: { name: 'web-two' } });
    assert.equal(renamed.body.name, 'web-two');

    const slow = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@wait 20000\n@reply too late' } });
    await waitFor('the slow prompt to run', async () => (await http('GET', `/api/sessions/${id}/queue`, { token: tokens.alice })).body.current?.id === slow.body.id);
    const stopped = await http('POST', `/api/sessions/${id}/stop`, { token: tokens.alice, body: {} });
    assert.equal(stopped.body.interruptedPromptId, slow.body.id);
    const slowResult = await http('GET', `/api/sessions/${id}/prompts/${slow.body.id}/result?timeoutSeconds=30`, { token: tokens.alice });
    assert.equal(slowResult.body.result.outcome, 'stopped');

    assert.equal((await http('DELETE', `/api/sessions/${id}`, { token: tokens.alice })).status, 200);
    assert.equal((await http('GET', `/api/sessions/${id}`, { token: tokens.alice })).status, 404);
  });

  test("the queue: waiting prompts are listed in order and can be withdrawn; the running one cannot; another user's queue is 404", async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: { name: 'queued' } });
    const id = created.body.id as string;
    const slow = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@wait 30000\n@reply slow' } });
    await waitFor('the slow prompt to run', async () => (await http('GET', `/api/sessions/${id}/queue`, { token: tokens.alice })).body.current?.id === slow.body.id);
    const second = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@reply second' } });
    const third = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: `@reply third ${'y'.repeat(300)}` } });
    const queue = await http('GET', `/api/sessions/${id}/queue`, { token: tokens.alice });
    assert.equal(queue.status, 200);
    assert.equal(queue.body.queued, 2);
    assert.deepEqual(queue.body.waiting.map((p: { id: string; position: number }) => [p.id, p.position]), [[second.body.id, 1], [third.body.id, 2]]);
    assert.equal(queue.body.waiting[0].preview, '@reply second');
    assert.equal(queue.body.waiting[1].preview.length, 200, 'a preview, not the whole text');
    assert.ok(queue.body.waiting[0].queuedAt);

    assert.equal((await http('GET', `/api/sessions/${id}/queue`, { token: tokens.bob })).status, 404);
    assert.equal((await http('DELETE', `/api/sessions/${id}/queue/${second.body.id}`, { token: tokens.bob })).status, 404);
    const withdrawn = await http('DELETE', `/api/sessions/${id}/queue/${second.body.id}`, { token: tokens.alice });
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.body.result.outcome, 'cancelled');
    assert.deepEqual((await http('GET', `/api/sessions/${id}/queue`, { token: tokens.alice })).body.waiting.map((p: { id: string; position: number }) => [p.id, p.position]), [[third.body.id, 1]]);
    const running = await http('DELETE', `/api/sessions/${id}/queue/${slow.body.id}`, { token: tokens.alice });
    assert.equal(running.status, 409);
    assert.equal(running.body.error.code, 'not_queued');
    assert.equal((await http('DELETE', `/api/sessions/${id}/queue/p_nothing`, { token: tokens.alice })).status, 404);

    await http('POST', `/api/sessions/${id}/stop`, { token: tokens.alice, body: { clear: true } });
    assert.equal((await http('DELETE', `/api/sessions/${id}`, { token: tokens.alice })).status, 200);
  });

  test('bad input: a schema error names the field, a body over max_body is 413, unknown routes are 404', async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: {} });
    const id = created.body.id as string;
    const wrongType = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: 5 } });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.field, 'text');
    assert.match(wrongType.body.error.message, /^text: /);
    const unknownKey = await http('POST', '/api/sessions', { token: tokens.alice, body: { nmae: 'x' } });
    assert.equal(unknownKey.status, 400);
    assert.match(unknownKey.body.error.message, /nmae/);
    const notJson = await http('POST', '/api/sessions', { token: tokens.alice, raw: '{"name":' });
    assert.equal(notJson.status, 400);
    const big = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: 'x'.repeat(70 * 1024) } });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'body_too_large');
    assert.equal((await http('GET', '/api/nothing', { token: tokens.alice })).status, 404);
  });

  test('events over SSE: text streams, the result arrives, and a client that reconnects with Last-Event-ID misses nothing and gets nothing twice', async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: { name: 'streamer' } });
    const id = created.body.id as string;
    const answer = 'the quick brown fox jumps over the lazy dog';
    const submitted = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: `@chunk 4 120\n@reply ${answer}` } });
    assert.equal(submitted.status, 202);
    const first = await readEvents(id, tokens.alice, undefined, (m) => m.filter((e) => e.event === 'text').length >= 2);
    const last = first[first.length - 1]!;
    assert.ok(last.id, 'each event has an id');
    const rest = await readEvents(id, tokens.alice, last.id, (m) => m.some((e) => e.event === 'result'));
    assert.ok(rest.some((m) => m.event === 'text'), 'the reconnect came while the text still streamed');
    const ids = [...first, ...rest].map((m) => Number(m.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in order');
    assert.equal(new Set(ids).size, ids.length, 'nothing twice');
    const all = [...first, ...rest].map((m) => JSON.parse(m.data!) as { type: string; text?: string; partial?: boolean; promptId?: string; result?: { text: string } });
    assert.equal(all.find((e) => e.type === 'result')?.result?.text, answer);
    const streamed = all.filter((e) => e.type === 'text' && e.partial).map((e) => e.text).join('');
    assert.equal(streamed, answer, 'every piece of the text, across the reconnect');
    assert.ok(all.every((e) => e.promptId === undefined || e.promptId === submitted.body.id));

    const following = readEvents(id, tokens.alice, last.id, (m) => m.some((e) => e.event === 'deleted'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await http('DELETE', `/api/sessions/${id}`, { token: tokens.alice })).status, 200);
    assert.equal((await following).at(-1)?.event, 'deleted', 'the stream ends when its session is deleted');
  });

  interface SocketMessage {
    id?: number;
    type: string;
    data?: { type: string; text?: string; partial?: boolean; promptId?: string; result?: { text: string } };
  }

  /** Opens a session's event WebSocket and reads until `enough`; an upgrade refused is its HTTP status. */
  const readSocket = (sessionId: string, headers: Record<string, string>, lastEventId: number | undefined, enough: (m: SocketMessage[]) => boolean): Promise<SocketMessage[] | number> =>
    new Promise((resolve, reject) => {
      const url = `${base.replace(/^http/, 'ws')}/api/sessions/${sessionId}/ws${lastEventId !== undefined ? `?last_event_id=${lastEventId}` : ''}`;
      const socket = new WebSocket(url, { headers });
      const messages: SocketMessage[] = [];
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no end within 30 s: ${JSON.stringify(messages)}`));
      }, 30_000);
      const finish = (value: SocketMessage[] | number): void => {
        clearTimeout(timer);
        socket.terminate();
        resolve(value);
      };
      socket.on('unexpected-response', (_request, response) => finish(response.statusCode ?? 0));
      socket.on('message', (data) => {
        messages.push(JSON.parse(String(data)) as SocketMessage);
        if (enough(messages)) finish(messages);
      });
      socket.on('close', () => finish(messages));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });

  test("events over a WebSocket: the same events and resume as SSE, the same credentials; another user's session is 404, a cookie from another origin 403", async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: { name: 'socket' } });
    const id = created.body.id as string;
    const bearer = { authorization: `Bearer ${tokens.alice}` };
    assert.equal(await readSocket(id, {}, undefined, () => true), 401);
    assert.equal(await readSocket(id, { authorization: `Bearer ${tokens.bob}` }, undefined, () => true), 404);
    assert.equal(await readSocket('no-such-session', bearer, undefined, () => true), 404);

    const answer = 'pack my box with five dozen liquor jugs';
    const submitted = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: `@chunk 4 120\n@reply ${answer}` } });
    const first = await readSocket(id, bearer, undefined, (m) => m.filter((e) => e.type === 'text').length >= 2);
    assert.ok(Array.isArray(first));
    const rest = await readSocket(id, bearer, first.at(-1)!.id, (m) => m.some((e) => e.type === 'result'));
    assert.ok(Array.isArray(rest));
    assert.ok(rest.some((m) => m.type === 'text'), 'the reconnect came while the text still streamed');
    const all = [...first, ...rest];
    const ids = all.map((m) => m.id!);
    assert.ok(ids.every((n, i) => i === 0 || n > ids[i - 1]!), 'in order, nothing twice');
    assert.equal(all.filter((m) => m.type === 'text' && m.data?.partial).map((m) => m.data!.text).join(''), answer);
    assert.equal(all.find((m) => m.type === 'result')?.data?.result?.text, answer);
    assert.ok(all.every((m) => m.data?.promptId === undefined || m.data.promptId === submitted.body.id));

    const login = await http('POST', '/api/login', { body: { token: tokens.alice } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const host = new URL(base).host;
    assert.equal(await readSocket(id, { cookie }, undefined, () => true), 403, 'a cookie without Origin');
    assert.equal(await readSocket(id, { cookie, origin: 'http://evil.example' }, undefined, () => true), 403, 'a cookie from another site');
    const fromPage = await readSocket(id, { cookie, origin: `http://${host}` }, undefined, (m) => m.some((e) => e.type === 'result'));
    assert.ok(Array.isArray(fromPage) && fromPage.length === all.length, 'a page of this server with the cookie gets every kept event');

    const following = readSocket(id, bearer, ids.at(-1), (m) => m.some((e) => e.type === 'deleted'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await http('DELETE', `/api/sessions/${id}`, { token: tokens.alice })).status, 200);
    assert.deepEqual(await following, [{ type: 'deleted', sessionId: id }]);
  });

  test('questions: a user lists and answers the questions of their sessions only', async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: {} });
    const id = created.body.id as string;
    const submitted = await http('POST', `/api/sessions/${id}/prompts`, {
      token: tokens.alice,
      body: { text: '@tool mcp__ask_user__ask_user {"question":"Which colour?","options":["red","blue"]}\n@echo-tool' },
    });
    const question = await waitFor('the question', async () => (await http('GET', '/api/questions', { token: tokens.alice })).body.find((q: { question: string }) => q.question === 'Which colour?'));
    assert.ok(!(await http('GET', '/api/questions', { token: tokens.bob })).body.some((q: { id: string }) => q.id === question.id));
    assert.equal((await http('POST', `/api/questions/${question.id}/answer`, { token: tokens.bob, body: { text: 'red' } })).status, 404);
    const answered = await http('POST', `/api/questions/${question.id}/answer`, { token: tokens.alice, body: { text: 'blue' } });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    const result = await http('GET', `/api/sessions/${id}/prompts/${submitted.body.id}/result?timeoutSeconds=30`, { token: tokens.alice });
    assert.equal(result.body.result.text, 'blue');
  });

  test('extensions and their health; the event log for the admin only, filtered and paged', async () => {
    const extensions = await http('GET', '/api/extensions', { token: tokens.alice });
    assert.equal(extensions.body.find((e: { name: string }) => e.name === 'web')?.health.status, 'ok');
    assert.equal((await http('GET', '/api/events', { token: tokens.alice })).status, 403);
    const page = await http('GET', '/api/events?type=web_token_created&limit=1', { token: tokens.admin });
    assert.equal(page.status, 200);
    assert.equal(page.body.events.length, 1);
    assert.equal(page.body.events[0].type, 'web_token_created');
    assert.ok(!JSON.stringify(page.body).includes('cxt_'), 'no token in the log');
    const before = await http('GET', `/api/events?type=web_token_created&limit=1&before=${page.body.next}`, { token: tokens.admin });
    assert.equal(before.body.events.length, 1);
    assert.ok(before.body.events[0].line < page.body.events[0].line);
  });

  test("cron jobs: add, list, pause, resume, run now, runs, delete; another user's job is 404", async () => {
    const added = await http('POST', '/api/cron', { token: tokens.alice, body: { name: 'web-job', prompt: '@reply from cron', schedule: '0 0 1 1 *' } });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const id = added.body.id as string;
    assert.equal(added.body.user, 'alice');
    assert.ok((await http('GET', '/api/cron', { token: tokens.alice })).body.some((j: { id: string }) => j.id === id));
    assert.ok(!(await http('GET', '/api/cron', { token: tokens.bob })).body.some((j: { id: string }) => j.id === id));
    assert.equal((await http('POST', `/api/cron/${id}/pause`, { token: tokens.bob })).status, 404);
    assert.equal((await http('DELETE', `/api/cron/${id}`, { token: tokens.bob })).status, 404);
    assert.equal((await http('POST', `/api/cron/${id}/pause`, { token: tokens.alice })).body.paused, true);
    assert.equal((await http('POST', `/api/cron/${id}/resume`, { token: tokens.alice })).body.paused, false);
    const run = await http('POST', `/api/cron/${id}/run`, { token: tokens.alice });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    await waitFor('the run to finish', async () => (await http('GET', `/api/cron/${id}/runs`, { token: tokens.alice })).body.runs.find((r: { status: string }) => r.status === 'success'));
    assert.equal((await http('POST', `/api/cron/${id}/run`, { token: tokens.alice })).status, 200);
    await waitFor('the second run to finish', async () => (await http('GET', `/api/cron/${id}/runs`, { token: tokens.alice })).body.runs.filter((r: { status: string }) => r.status === 'success').length === 2, 30_000);
    const newest = await http('GET', `/api/cron/${id}/runs?limit=1`, { token: tokens.alice });
    assert.equal(newest.body.runs.length, 1);
    assert.equal(newest.body.next, 1);
    const older = await http('GET', `/api/cron/${id}/runs?limit=1&offset=${newest.body.next}`, { token: tokens.alice });
    assert.equal(older.body.runs.length, 1);
    assert.equal(older.body.next, null, 'the oldest page');
    assert.ok(older.body.runs[0].scheduledFor <= newest.body.runs[0].scheduledFor && older.body.runs[0].id !== newest.body.runs[0].id);
    assert.equal((await http('GET', `/api/cron/${id}/runs?limit=500`, { token: tokens.alice })).body.error.field, 'limit');
    assert.equal((await http('GET', `/api/cron/${id}/runs`, { token: tokens.bob })).status, 404);
    assert.equal((await http('DELETE', `/api/cron/${id}`, { token: tokens.alice })).status, 200);
    assert.equal((await http('POST', `/api/cron/${id}/pause`, { token: tokens.alice })).status, 404);
  });

  test('the heartbeat: status, log, pause and resume, for the admin only', async () => {
    assert.equal((await http('GET', '/api/heartbeat', { token: tokens.alice })).status, 403);
    const status = await http('GET', '/api/heartbeat', { token: tokens.admin });
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.equal(typeof status.body.valves.limits.maxRunsPerDay, 'number', 'the valves with their limits');
    assert.equal(typeof status.body.valves.now.ok, 'boolean', 'and whether one holds a check now');
    const paused = await http('POST', '/api/heartbeat/pause', { token: tokens.admin, body: { minutes: 5 } });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.ok(paused.body.pausedUntil);
    assert.equal((await http('POST', '/api/heartbeat/resume', { token: tokens.admin })).status, 200);
    const log = await http('GET', '/api/heartbeat/log?n=5', { token: tokens.admin });
    assert.ok(Array.isArray(log.body));
  });

  test("approvals: dave's session asks before a Bash call; listed for dave only, with the input redacted as the event stream showed it; allowed once it runs, denied the model gets the message; rules listed and revoked; the session list and usage show the costs", async () => {
    const secret = 'sk-web-approval-4711';
    const stored = await cli(['vault', 'set', '--user', 'dave', 'demo/token'], { stdin: `${secret}\n` });
    assert.equal(stored.code, 0, stored.stderr);
    const file = (name: string): string => path.join(world.workDir, name);
    const bash = (command: string): string => `@tool Bash ${JSON.stringify({ command, description: 'a test call' })}\n@echo-tool`;
    const created = await http('POST', '/api/sessions', { token: tokens.dave, body: { name: 'approving' } });
    const id = created.body.id as string;
    const submit = async (text: string): Promise<string> => (await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.dave, body: { text } })).body.id as string;
    const result = async (promptId: string): Promise<{ text: string; outcome: string }> =>
      (await http('GET', `/api/sessions/${id}/prompts/${promptId}/result?timeoutSeconds=60`, { token: tokens.dave })).body.result;
    const pending = (): Promise<{ id: string; tool: string; summary: string; input: { command: string }; suggestedPattern: string; user: string; sessionId: string }> =>
      waitFor('an approval', async () => (await http('GET', `/api/approvals?session=${id}`, { token: tokens.dave })).body[0], 30_000);

    // Allowed once from the API: the call runs.
    const first = await submit(bash(`touch ${file('web-approved')} # ${secret}`));
    const approval = await pending();
    assert.equal(approval.tool, 'Bash');
    assert.equal(approval.user, 'dave');
    assert.match(approval.summary, /^Bash: touch .*web-approved/);
    assert.match(approval.input.command, /touch .*web-approved # \[REDACTED\]$/, 'the input as the event stream showed it');
    assert.ok(!JSON.stringify((await http('GET', '/api/approvals', { token: tokens.dave })).body).includes(secret), 'the secret is not shown');
    assert.ok(!JSON.stringify((await http('GET', '/api/approvals', { token: tokens.admin })).body).includes(secret), 'not to the admin either');
    assert.equal((await http('GET', '/api/approvals?session=s_other', { token: tokens.dave })).body.length, 0, 'filtered by session');
    assert.ok((await http('GET', '/api/approvals', { token: tokens.admin })).body.some((a: { id: string }) => a.id === approval.id));
    assert.ok(!(await http('GET', '/api/approvals', { token: tokens.bob })).body.some((a: { id: string }) => a.id === approval.id));
    const foreign = await http('POST', `/api/approvals/${approval.id}`, { token: tokens.bob, body: { decision: 'allow' } });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, 'not_found');
    const listed = (await http('GET', '/api/sessions', { token: tokens.dave })).body.find((s: { id: string }) => s.id === id);
    assert.equal(listed.pendingApprovals, 1, 'the session list marks the session that waits');
    assert.equal((await http('POST', `/api/approvals/${approval.id}`, { token: tokens.dave, body: { decision: 'allow', scope: 'sometimes' } })).status, 400);
    assert.ok(!fs.existsSync(file('web-approved')), 'nothing ran while the call waits');
    const allowed = await http('POST', `/api/approvals/${approval.id}`, { token: tokens.dave, body: { decision: 'allow', scope: 'once' } });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal((await result(first)).outcome, 'success');
    assert.ok(fs.existsSync(file('web-approved')), 'the allowed call ran');
    const late = await http('POST', `/api/approvals/${approval.id}`, { token: tokens.dave, body: { decision: 'deny' } });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'approval_closed');
    const streamed = await readEvents(id, tokens.dave, undefined, (m) => m.some((e) => e.event === 'approval_resolved'));
    const requested = streamed.find((m) => m.event === 'approval_requested');
    assert.equal(JSON.parse(requested!.data!).id, approval.id, 'the event stream carries the request');
    assert.deepEqual(
      (({ decision, by }) => ({ decision, by }))(JSON.parse(streamed.find((m) => m.event === 'approval_resolved')!.data!) as { decision: string; by: string }),
      { decision: 'allow', by: 'dave' },
    );

    // Denied with a message: the model is told it, the call does not run.
    const second = await submit(bash(`touch ${file('web-denied')}`));
    const denial = await pending();
    assert.equal((await http('POST', `/api/approvals/${denial.id}`, { token: tokens.dave, body: { decision: 'deny', message: 'not on a Friday' } })).status, 200);
    assert.match((await result(second)).text, /not on a Friday/);
    assert.ok(!fs.existsSync(file('web-denied')));

    // Always allowed by the admin: a rule of dave's, listed for dave and the admin, revoked by dave; bob sees none of it.
    const third = await submit(bash(`touch ${file('web-always')}`));
    const always = await pending();
    const answered = await http('POST', `/api/approvals/${always.id}`, { token: tokens.admin, body: { decision: 'allow', scope: 'always', pattern: 'Bash(touch:*)' } });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal((await result(third)).outcome, 'success');
    const rule = (await http('GET', '/api/rules', { token: tokens.dave })).body.find((r: { pattern: string }) => r.pattern === 'Bash(touch:*)');
    assert.equal(rule?.user, 'dave');
    assert.equal(rule.sessionId, undefined, 'a rule of every session of dave');
    assert.ok((await http('GET', '/api/rules', { token: tokens.admin })).body.some((r: { id: string }) => r.id === rule.id));
    assert.ok(!(await http('GET', '/api/rules', { token: tokens.bob })).body.some((r: { id: string }) => r.id === rule.id));
    assert.equal((await http('DELETE', `/api/rules/${rule.id}`, { token: tokens.bob })).status, 404);
    assert.equal((await http('DELETE', `/api/rules/${rule.id}`, { token: tokens.dave })).status, 200);
    assert.ok(!(await http('GET', '/api/rules', { token: tokens.dave })).body.some((r: { id: string }) => r.id === rule.id));
    assert.equal((await http('DELETE', `/api/rules/${rule.id}`, { token: tokens.dave })).status, 404);

    // What the session cost: today and in total, in the session list and in the usage answer.
    const costed = (await http('GET', '/api/sessions', { token: tokens.dave })).body.find((s: { id: string }) => s.id === id);
    assert.equal(costed.pendingApprovals, 0);
    assert.ok(costed.costToday > 0, JSON.stringify(costed));
    assert.ok(Math.abs(costed.costToday - costed.counters.costUsd) < 1e-9, `every turn of the session ended today: ${JSON.stringify(costed)}`);
    const usage = await http('GET', '/api/usage', { token: tokens.dave });
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    assert.ok(usage.body.sessions.some((c: { sessionId: string; today: number }) => c.sessionId === id && c.today === costed.costToday));
    assert.ok(usage.body.costs.every((c: { user: string }) => c.user === 'dave'), 'a user sees their own costs');
    assert.ok(usage.body.costs[0].costUsd >= costed.costToday);
    const everyone = await http('GET', '/api/usage?days=1', { token: tokens.admin });
    assert.ok(everyone.body.costs.some((c: { user: string }) => c.user === 'alice') && everyone.body.costs.some((c: { user: string }) => c.user === 'dave'), 'the admin sees every user');
  });

  test('usage: the reading of the stand-in usage.command', async () => {
    const answer = await http('GET', '/api/usage?fresh=true', { token: tokens.alice });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const { auth, subscriptionType, fiveHour, sevenDay, error } = answer.body.usage;
    assert.deepEqual(
      { auth, subscriptionType, fiveHour, sevenDay, error },
      { auth: 'subscription', subscriptionType: 'max', fiveHour: { utilization: 55, resetsAt: '2099-01-01T05:00:00.000Z' }, sevenDay: { utilization: 12, resetsAt: '2099-01-05T00:00:00.000Z' }, error: undefined },
    );
    assert.equal((await http('GET', '/api/usage?days=0', { token: tokens.alice })).status, 400);
    assert.ok((await http('GET', '/api/openapi.json')).body.paths['/api/approvals/{id}'].post.requestBody);
  });

  test('browser login: an HttpOnly SameSite=Strict cookie, and writes need the CSRF token', async () => {
    assert.equal((await http('POST', '/api/login', { body: { token: 'wrong' } })).status, 401);
    const login = await http('POST', '/api/login', { body: { token: tokens.alice } });
    assert.equal(login.status, 200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await http('GET', '/api/sessions', { headers: { cookie } })).status, 200);
    const noCsrf = await http('POST', '/api/sessions', { headers: { cookie }, body: {} });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'csrf');
    const withCsrf = await http('POST', '/api/sessions', { headers: { cookie, 'x-csrf-token': login.body.csrfToken }, body: {} });
    assert.equal(withCsrf.status, 201);
    assert.equal(withCsrf.body.user, 'alice');
    await http('POST', '/api/logout', { headers: { cookie } });
    assert.equal((await http('GET', '/api/sessions', { headers: { cookie } })).status, 401);
  });

  /** Stops the daemon and starts it again; the API listens on a new port. */
  const restartDaemon = async (): Promise<void> => {
    const listened = readEventLog(world).filter((e) => e.type === 'web_listening').length;
    await daemon.stop();
    daemon = await startDaemonProcess(world, ['--config', config]);
    const listening = await waitFor('the API to listen again', () => readEventLog(world).filter((e) => e.type === 'web_listening')[listened]);
    base = String(listening.address);
  };

  test('events and browser logins survive a restart of the daemon: a client resuming with Last-Event-ID gets exactly what it missed, ids keep rising, the browser stays logged in', async () => {
    const created = await http('POST', '/api/sessions', { token: tokens.alice, body: { name: 'survivor' } });
    const id = created.body.id as string;
    const seen = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@reply seen live', wait: true } });
    const live = await readEvents(id, tokens.alice, undefined, (m) => m.some((e) => e.event === 'result'));
    const lastSeen = live.at(-1)!.id!;
    const missed = await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@chunk 3 20\n@reply missed while away', wait: true } });
    assert.equal(missed.body.result.text, 'missed while away');
    const login = await http('POST', '/api/login', { body: { token: tokens.alice } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;

    await restartDaemon();

    assert.equal((await http('GET', `/api/sessions/${id}`, { headers: { cookie } })).status, 200, 'still logged in');
    assert.equal((await http('PATCH', `/api/sessions/${id}`, { headers: { cookie }, body: { name: 'survivor-2' } })).status, 403, 'writes still need the CSRF token');
    assert.equal((await http('PATCH', `/api/sessions/${id}`, { headers: { cookie, 'x-csrf-token': login.body.csrfToken }, body: { name: 'survivor-2' } })).status, 200);
    assert.equal((await http('POST', '/api/logout', { headers: { cookie } })).status, 200);
    assert.equal((await http('GET', `/api/sessions/${id}`, { headers: { cookie } })).status, 401, 'logged out');

    const resumed = await readEvents(id, tokens.alice, lastSeen, (m) => m.some((e) => e.event === 'result'));
    const promptIds = resumed.map((m) => (JSON.parse(m.data!) as { promptId?: string }).promptId);
    assert.deepEqual([...new Set(promptIds)], [missed.body.id], `only the missed prompt's events: ${JSON.stringify(resumed.map((m) => m.event))}`);
    assert.equal(resumed[0]!.event, 'queued', 'from its first event on');
    assert.equal(resumed.filter((m) => m.event === 'result').length, 1);
    const streamed = resumed.filter((m) => m.event === 'text').map((m) => JSON.parse(m.data!) as { text: string; partial?: boolean });
    assert.equal(streamed.filter((e) => e.partial).map((e) => e.text).join(''), 'missed while away', 'every streamed piece, once');
    const ids = resumed.map((m) => Number(m.id));
    assert.ok(ids.every((n, i) => n > Number(lastSeen) && (i === 0 || n > ids[i - 1]!)), 'after the last seen id, rising, none twice');

    const everything = await readEvents(id, tokens.alice, undefined, (m) => m.filter((e) => e.event === 'result').length >= 2);
    assert.ok(everything.some((m) => (JSON.parse(m.data!) as { promptId?: string }).promptId === seen.body.id), 'the events of before the restart are kept');
    assert.deepEqual(
      everything.filter((m) => Number(m.id) > Number(lastSeen)).map((m) => m.id),
      resumed.map((m) => m.id),
      'the resumed stream is exactly the kept events after the last seen id',
    );

    const following = readEvents(id, tokens.alice, resumed.at(-1)!.id, (m) => m.some((e) => e.event === 'result'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await http('POST', `/api/sessions/${id}/prompts`, { token: tokens.alice, body: { text: '@reply after the restart' } });
    const later = await following;
    assert.ok(Number(later[0]!.id) > Math.max(...ids), 'ids after the restart are higher than before it');
    assert.equal(JSON.parse(later.at(-1)!.data!).result.text, 'after the restart');
  });
});


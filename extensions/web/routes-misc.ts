/** Questions sessions wait on, extensions and their health, the daemon's event log. */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ExtensionContext } from 'claude-ext/extension';
import { HttpError, notFound, route, visibleUser, type Route } from './api.ts';

/** What ask_user provides as its `ask_user` service, as far as this extension uses it. */
interface Question {
  readonly id: string;
  readonly user: string;
  readonly sessionId: string;
  readonly status: string;
}
interface AskUserService {
  list(user?: string): Question[];
  answer(id: string, text: string, user: string): { ok: true; question: Question } | { ok: false; reason: string };
}

/** What these routes use of the extension's context. */
type WebContext = Pick<ExtensionContext, 'services' | 'stateDir' | 'extensionsHealth'>;

function askUser(ctx: WebContext): AskUserService {
  const service = ctx.services.find<AskUserService>('ask_user');
  if (!service) throw new HttpError(503, 'unavailable', 'questions need the ask_user extension, which is not running');
  return service;
}

const logQuery = z.object({
  type: z.string().min(1).max(100).optional().describe('Only events of this type'),
  session: z.string().min(1).max(200).optional().describe('Only events naming this session id'),
  before: z.coerce.number().int().nonnegative().optional().describe('Page: only lines before this line number (from the previous page)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The newest matching lines of events.jsonl before a line number, newest last, and where the next page starts. */
function readEventLog(file: string, query: z.output<typeof logQuery>): { events: unknown[]; next: number | null } {
  let lines: string[];
  try {
    lines = fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return { events: [], next: null };
  }
  const found: unknown[] = [];
  let line = Math.min(query.before ?? lines.length, lines.length) - 1;
  for (; line >= 0 && found.length < query.limit; line--) {
    if (!lines[line]) continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(lines[line]!) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (query.type !== undefined && event.type !== query.type) continue;
    if (query.session !== undefined && event.session !== query.session && event.sessionId !== query.session) continue;
    found.push({ line: line + 1, ...event });
  }
  return { events: found.reverse(), next: line >= 0 ? line + 1 : null };
}

export function miscRoutes(ctx: WebContext): Route[] {
  return [
    route({
      method: 'GET', url: '/api/questions', tag: 'questions', summary: 'Open questions sessions wait on (ask_user)',
      handler: ({ principal }) => ({ body: askUser(ctx).list(visibleUser(principal)) }),
    }),
    route({
      method: 'POST', url: '/api/questions/:id/answer', tag: 'questions', summary: 'Answers a question',
      params: z.object({ id: z.string().min(1).max(100) }), body: z.strictObject({ text: z.string().min(1).max(4000) }),
      handler: ({ principal, params, body }) => {
        const service = askUser(ctx);
        const question = service.list(visibleUser(principal)).find((q) => q.id === params.id);
        if (!question) throw notFound(`open question "${params.id}"`);
        const answered = service.answer(params.id, body.text, question.user);
        if (!answered.ok) throw new HttpError(409, 'question_closed', answered.reason);
        return { body: answered.question };
      },
    }),
    route({
      method: 'GET', url: '/api/extensions', tag: 'extensions', summary: 'The enabled extensions with their state and health',
      handler: async () => ({ body: await ctx.extensionsHealth() }),
    }),
    route({
      method: 'GET', url: '/api/events', tag: 'events', auth: 'admin', query: logQuery,
      summary: "The daemon's event log (events.jsonl), newest page first; pass `next` as `before` for the page before",
      handler: ({ query }) => ({ body: readEventLog(path.join(ctx.stateDir, 'events.jsonl'), query) }),
    }),
  ];
}

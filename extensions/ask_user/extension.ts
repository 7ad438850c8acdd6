import path from 'node:path';
import { z } from 'zod';
import { RpcError, RpcErrorCode, duration, type Extension, type ExtensionContext } from 'claude-ext/extension';
import { QuestionBook, type AnswerResult } from './question-book.ts';
import { QuestionStore, type Question } from './question-store.ts';
import { answerParams, askParams, listParams, MAX_TIMEOUT_SECONDS, METHODS, type AnswerAck } from './protocol.ts';
import { askUser } from './tools.ts';

/** From a second to MAX_TIMEOUT_SECONDS: a question's expiry must be a time a Date can hold. */
const waitDuration = duration.refine((ms) => ms >= 1000 && ms <= MAX_TIMEOUT_SECONDS * 1000, 'must be from 1s to 366d');

const configSchema = z.strictObject({
  /** How long a question waits for an answer unless the tool call asks for another time. */
  timeout: waitDuration.default(10 * 60_000),
  /** The longest a tool call may ask to wait. */
  max_timeout: waitDuration.default(24 * 3_600_000),
});

type AskUserConfig = z.output<typeof configSchema>;

/** What other extensions (a chat frontend) use to list and answer questions in-process. */
export interface AskUserService {
  list(user?: string): Question[];
  answer(id: string, text: string, user: string): AnswerResult;
}

export default (): Extension<AskUserConfig> => {
  let book: QuestionBook | undefined;
  let config: AskUserConfig;
  return {
    name: 'ask_user',
    description: 'Lets a session ask the person behind it a question and wait for the answer',
    configSchema,
    start(ctx) {
      config = ctx.config;
      const questions = new QuestionBook(new QuestionStore(path.join(ctx.dataDir, 'questions')), {
        opened: (q) => publish(ctx, q, 'question', { summary: `question ${q.id}: ${q.question}${q.options.length ? ` [${q.options.join(' / ')}]` : ''} — answer with: claude-ext answer ${q.id} TEXT` }),
        closed: (q) => publish(ctx, q, 'question_closed', { status: q.status, ...(q.answer !== undefined ? { answer: q.answer } : {}), ...(q.reason ? { reason: q.reason } : {}) }),
        answeredAfterItsTurn: (q) => deliverLateAnswer(ctx, q),
      });
      book = questions;
      for (const question of questions.answeredAfterTurns()) deliverLateAnswer(ctx, question);
      ctx.track({ dispose: () => questions.dispose() });
      ctx.addTools({ server: 'ask_user', tools: [askUser] });
      ctx.addSessionCustomizer(() => ({ disallowedTools: ['AskUserQuestion'] }));
      ctx.onEvent((event) => {
        if (event.type === 'tool_call_lost' && event.server === 'ask_user') questions.keepAfterTurn(event.sessionId, event.promptId);
        if (event.type === 'result') {
          // A turn that went on to its end with its question still open lost the asking call (maybe while
          // the daemon was down, when nobody heard it say so): the question outlives it.
          if (event.result.outcome === 'success' || event.result.outcome === 'error') questions.keepAfterTurn(event.sessionId, event.promptId);
          questions.cancelTurn(event.sessionId, event.promptId, `the turn ended (${event.result.outcome})`);
        }
      });
      ctx.addBridgeMethod(METHODS.ask, { params: askParams }, async (params, call) => {
        const session = call.session;
        const timeoutMs = Math.min(params.timeoutSeconds !== undefined ? params.timeoutSeconds * 1000 : config.timeout, config.max_timeout);
        const outcome = await questions.ask(
          { requestId: params.requestId, sessionId: session.id, promptId: session.currentPromptId, user: session.user, question: params.question, options: params.options, timeoutMs },
          call.signal,
        );
        return outcome;
      });
      ctx.addBridgeMethod(METHODS.list, { params: listParams, access: 'any' }, (params, call) => {
        if (call.session) return questions.list({ sessionId: call.session.id });
        const user = call.visibleUser(params.user);
        return questions.list({ ...(user !== undefined ? { user } : {}), includeClosed: params.all });
      });
      ctx.addBridgeMethod(METHODS.answer, { params: answerParams, access: 'admin' }, (params): AnswerAck => {
        const result = questions.answer(params.id, params.text, params.user ?? 'terminal', params.user);
        if (!result.ok) throw new RpcError(RpcErrorCode.ServerError, result.reason);
        return { id: result.question.id, status: result.question.status };
      });
      const service: AskUserService = {
        list: (user) => questions.list(user === undefined ? {} : { user }),
        answer: (id, text, user) => questions.answer(id, text, user, user),
      };
      ctx.provideService('ask_user', service);
    },
    reconfigure(next) {
      config = next;
    },
    healthCheck() {
      const open = book?.list().length ?? 0;
      return { status: 'ok', detail: `${open} open question${open === 1 ? '' : 's'}` };
    },
  };
};

function publish(ctx: ExtensionContext<AskUserConfig>, q: Question, kind: string, extra: Record<string, unknown>): void {
  try {
    ctx.publish(q.sessionId, kind, { id: q.id, question: q.question, options: q.options, expiresAt: q.expiresAt, user: q.user, ...extra });
  } catch {
    // the session was deleted meanwhile: nobody is left to tell
  }
}

/** The asking turn is over: the answer reaches the session as a prompt of its own. */
function deliverLateAnswer(ctx: ExtensionContext<AskUserConfig>, q: Question): void {
  const text = [
    `The person answered the question you asked with ask_user (${q.id}) after that turn had ended (the daemon restarted while you waited).`,
    `Question: ${q.question}`,
    `Answer: ${q.answer ?? ''}`,
    'Carry on with what you were doing when you asked.',
  ].join('\n');
  try {
    const { prompt } = ctx.sessions.submit({ user: q.user, session: q.sessionId, text, ...(q.followUpPromptId ? { promptId: q.followUpPromptId } : {}) });
    ctx.logger.info('an answer to a question whose turn had ended went to its session as a prompt', { question: q.id, session: q.sessionId, prompt: prompt.id });
  } catch (error) {
    ctx.logger.warn('could not hand an answer to its session', { question: q.id, session: q.sessionId, error });
  }
}

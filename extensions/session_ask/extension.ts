import path from 'node:path';
import { z } from 'zod';
import { duration, type Extension, type ExtensionContext, type SessionSummary } from 'claude-ext/extension';
import { reachableUsers, refFor, resolveTarget, type CrossUserPair } from './access.ts';
import { AskBook } from './ask-book.ts';
import { AskStore, type Ask } from './ask-store.ts';
import { lateAnswerPrompt } from './prompt-texts.ts';
import { askParams, listParams, MAX_TIMEOUT_SECONDS, METHODS, sessionsParams, tellParams, type SessionEntry, type TellAck } from './protocol.ts';
import { tools } from './tools.ts';

/** From a second to MAX_TIMEOUT_SECONDS: an ask's expiry must be a time a Date can hold. */
const waitDuration = duration.refine((ms) => ms >= 1000 && ms <= MAX_TIMEOUT_SECONDS * 1000, 'must be from 1s to 366d');

const userId = z
  .string()
  .min(1)
  .max(128)
  .refine((user) => !/[\0\n]/.test(user), 'a user id has no NUL or newline');

const configSchema = z.strictObject({
  /** How long session_ask waits for the answer unless the call asks for another time. */
  timeout: waitDuration.default(10 * 60_000),
  /** The longest a call may ask to wait. */
  max_timeout: waitDuration.default(24 * 3_600_000),
  /** How many questions (and messages) may be nested: A asks B, which asks C while answering, ... */
  max_depth: z.number().int().min(1).max(20).default(3),
  /** Pairs of users whose sessions may ask across users: sessions of `from` may ask those of `to`. */
  cross_user: z.array(z.strictObject({ from: userId, to: userId })).default([]),
});

type SessionAskConfig = z.output<typeof configSchema>;

export default (): Extension<SessionAskConfig> => {
  let book: AskBook | undefined;
  let config: SessionAskConfig;
  return {
    name: 'session_ask',
    description: 'Lets a session ask another session of its user a question and wait for the answer, or tell it something',
    configSchema,
    start(ctx) {
      config = ctx.config;
      const asks = new AskBook(new AskStore(path.join(ctx.dataDir, 'asks')), ctx.sessions, { answeredAfterItsTurn: (ask) => deliverLateAnswer(ctx, ask) });
      book = asks;
      ctx.track({ dispose: () => asks.dispose() });
      ctx.onEvent((event) => {
        if (event.type === 'tool_call_lost' && event.server === 'session_ask') asks.keepAfterTurn(event.sessionId, event.promptId);
        if (event.type === 'result') {
          // An asking turn that went on to its end while still waiting lost its call (maybe while the daemon was down).
          if (event.result.outcome === 'success' || event.result.outcome === 'error') asks.keepAfterTurn(event.sessionId, event.promptId);
          asks.promptFinished(event.sessionId, event.promptId, event.result);
        }
      });
      asks.recover();
      // Nothing tells of a deleted session: a wait on one is ended within a few seconds rather than at its timeout.
      ctx.setInterval(() => asks.dropDeletedTargets(), 3000);
      ctx.addTools({
        server: 'session_ask',
        tools,
        instructions: 'session_list shows the sessions you can reach; session_ask puts a question to one and waits for its reply; session_tell sends it a message without waiting.',
      });
      const target = (caller: SessionSummary, ref: string): SessionSummary => resolveTarget(ctx.sessions, caller.user, ref, config.cross_user);
      ctx.addBridgeMethod(METHODS.sessions, { params: sessionsParams }, (_params, call): SessionEntry[] => sessionEntries(ctx, asks, call.session, config.cross_user));
      ctx.addBridgeMethod(METHODS.ask, { params: askParams }, (params, call) => {
        const timeoutMs = Math.min(params.timeoutSeconds !== undefined ? params.timeoutSeconds * 1000 : config.timeout, config.max_timeout);
        const to = target(call.session, params.session);
        const request = { requestId: params.requestId, from: call.session, to, text: params.question, maxDepth: config.max_depth, timeoutMs };
        return asks.ask(request, call.signal);
      });
      ctx.addBridgeMethod(METHODS.tell, { params: tellParams }, (params, call): TellAck => {
        const to = target(call.session, params.session);
        const { ask, position } = asks.tell({ requestId: params.requestId, from: call.session, to, text: params.message, maxDepth: config.max_depth });
        return { id: ask.id, session: refFor(ask.to, call.session.user), promptId: ask.promptId, position: position ?? 0 };
      });
      ctx.addBridgeMethod(METHODS.list, { params: listParams, access: 'any' }, (params, call): Ask[] => {
        const user = call.visibleUser(params.user);
        return asks.list({ ...(user !== undefined ? { user } : {}), all: params.all });
      });
    },
    reconfigure(next) {
      config = next;
    },
    healthCheck() {
      const waiting = book?.list().length ?? 0;
      return { status: 'ok', detail: `${waiting} question${waiting === 1 ? '' : 's'} waiting for an answer` };
    },
  };
};

function sessionEntries(ctx: ExtensionContext<SessionAskConfig>, asks: AskBook, caller: SessionSummary, pairs: readonly CrossUserPair[]): SessionEntry[] {
  return reachableUsers(caller.user, pairs).flatMap((user) =>
    ctx.sessions.list(user).map((session): SessionEntry => {
      const waitingOn = asks.waitingOn(session.id);
      return {
        id: session.id,
        name: session.name,
        ref: refFor(session, caller.user),
        user: session.user,
        status: session.status,
        ...(session.template !== undefined ? { template: session.template } : {}),
        cwd: session.cwd,
        ...(session.lastPrompt !== undefined ? { lastPrompt: session.lastPrompt } : {}),
        queued: session.queued,
        self: session.id === caller.id,
        ...(waitingOn ? { waitingOn: refFor(waitingOn, caller.user) } : {}),
      };
    }),
  );
}

/** The asking turn is over: the answer reaches the asker as a prompt of its own. */
function deliverLateAnswer(ctx: ExtensionContext<SessionAskConfig>, ask: Ask): void {
  try {
    const { prompt } = ctx.sessions.submit({ user: ask.from.user, session: ask.from.sessionId, text: lateAnswerPrompt(ask), fromSession: ask.to.sessionId, ...(ask.followUpPromptId ? { promptId: ask.followUpPromptId } : {}) });
    ctx.logger.info('an answer whose asking call was lost went to the asking session as a prompt', { ask: ask.id, session: ask.from.sessionId, prompt: prompt.id });
  } catch (error) {
    ctx.logger.warn('could not hand an answer to its asking session', { ask: ask.id, session: ask.from.sessionId, error });
  }
}

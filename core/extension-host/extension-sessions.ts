import type { ClaudeEngine } from '../sessions/engine.ts';
import type { DisposableStore } from '../util/disposable.ts';
import type { ExtensionSessions } from './extension-api.ts';

/** The engine as an extension sees it: sessions and prompts, nothing of the daemon's own controls. */
export function extensionSessions(engine: ClaudeEngine, store: DisposableStore): ExtensionSessions {
  return {
    get defaultCwd() {
      return engine.defaultCwd;
    },
    list: (user) => engine.listSessions(user),
    get: (sessionId) => engine.getSession(sessionId),
    find: (ref, user) => engine.findSession(ref, user),
    create: (request) => engine.createSession(request),
    rename: (sessionId, name) => engine.renameSession(sessionId, name),
    delete: (sessionId) => engine.deleteSession(sessionId),
    submit: (request) => engine.submit(request),
    stop: (ref, options) => engine.stop(ref, options),
    getPrompt: (sessionId, promptId) => engine.getPrompt(sessionId, promptId),
    waitForPrompt: (sessionId, promptId, signal) => engine.waitForPrompt(sessionId, promptId, signal),
    watchPrompt: (promptId, listener) => store.addTransient(engine.watchPrompt(promptId, listener)),
    counts: () => engine.counts(),
  };
}

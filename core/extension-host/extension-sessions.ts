import type { ClaudeEngine } from '../sessions/engine.ts';
import { toDisposable, type DisposableStore } from '../util/disposable.ts';
import type { ExtensionSessions } from './extension-api.ts';

/** The engine as an extension sees it: sessions and prompts, nothing of the daemon's own controls. */
export function extensionSessions(engine: ClaudeEngine, store: DisposableStore): ExtensionSessions {
  // Waits end with the extension: a stopped extension does not keep waiting on a prompt.
  const lifetime = new AbortController();
  store.add(toDisposable(() => lifetime.abort(new Error('the extension stopped'))));
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
    withdraw: (sessionId, promptId, reason) => engine.withdraw(sessionId, promptId, reason),
    queued: (sessionId) => engine.queuedPrompts(sessionId),
    getPrompt: (sessionId, promptId) => engine.getPrompt(sessionId, promptId),
    waitForPrompt: (sessionId, promptId, signal) => engine.waitForPrompt(sessionId, promptId, AbortSignal.any(signal ? [signal, lifetime.signal] : [lifetime.signal])),
    watchPrompt: (promptId, listener) => store.addTransient(engine.watchPrompt(promptId, listener)),
    counts: () => engine.counts(),
    sandboxCommand: (sessionId, argv) => engine.sandboxCommand(sessionId, argv),
  };
}

import type { DeliveryQueue } from './delivery-queue.ts';
import type { EngineEvent, ResultEvent } from './events.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import type { Logger } from '../util/log.ts';

/**
 * A named consumer of results that says when it has one (a chat frontend). A result is for the
 * frontend named by its session's `frontend` label; it stays pending until the frontend acknowledges it.
 */
export interface Frontend {
  /** Every session event in order, as a delivery callback gets them, but the results this frontend acknowledges. */
  onEvent?(event: EngineEvent): void | Promise<void>;
  /**
   * A result for this frontend, called once every earlier event was handed to `onEvent` (the engine
   * does not wait for it before handing on the next). Resolving acknowledges it: the engine records
   * that, and never hands this result to this frontend again. A rejection is retried with backoff. A
   * result the frontend took but did not acknowledge (it stopped, the daemon died) is handed again,
   * with the same `promptId`, when the frontend is next registered: dedupe by it.
   */
  deliver(result: ResultEvent): Promise<void>;
}

/**
 * The frontends a result of a session with these labels is for: the one its `frontend` label names,
 * none for a session that speaks through reports it publishes (`delivery: reports`, a heartbeat run).
 */
export function resultFrontends(labels: Readonly<Record<string, string>> | undefined): string[] {
  const frontend = labels?.frontend;
  return frontend && labels.delivery !== 'reports' ? [frontend] : [];
}

export interface FrontendAcksOptions {
  readonly log: Logger;
  /** A prompt's result as frontends get it (read from its record, redacted), or undefined when it is gone. */
  readonly loadResult: (sessionId: string, promptId: string) => ResultEvent | undefined;
  /** Records on disk that a frontend acknowledged a result. */
  readonly acknowledge: (sessionId: string, promptId: string, frontend: string) => void;
  /** No result of the session waits for a frontend any more. */
  readonly settled: (sessionId: string) => void;
  /** The wait before the first retry of a rejected delivery; it doubles up to `maxMs`. */
  readonly retry?: { readonly firstMs: number; readonly maxMs: number };
}

interface Registration {
  readonly frontend: Frontend;
  readonly queue: DeliveryQueue;
}

/** A result waiting for one frontend's acknowledgement. */
interface Awaited {
  readonly sessionId: string;
  readonly promptId: string;
  /** `waiting`: for the frontend, or a retry; `queued`: in `registration`'s queue; `sending`: deliver() has not settled. */
  state: 'waiting' | 'queued' | 'sending';
  registration?: Registration;
  failures: number;
  retryTimer?: NodeJS.Timeout;
}

const DEFAULT_RETRY = { firstMs: 1000, maxMs: 60_000 };

/**
 * Results that wait for frontends to acknowledge them: handed to a frontend when it is registered and
 * delivery is open, retried with backoff when it rejects, recorded when it resolves. Kept per frontend,
 * in memory as ids only; the prompt records on disk say the same, so a restart picks them up again.
 */
export class FrontendAcks {
  private readonly registered = new Map<string, Registration>();
  private readonly awaiting = new Map<string, Map<string, Awaited>>();
  private opened = false;
  private closed = false;

  constructor(private readonly options: FrontendAcksOptions) {}

  isRegistered(name: string): boolean {
    return this.registered.has(name);
  }

  /** Takes `frontend`'s results through `queue`; what waits for it goes out at once (when open). */
  register(name: string, frontend: Frontend, queue: DeliveryQueue): Disposable {
    if (this.registered.has(name)) throw new Error(`a frontend named "${name}" is already registered`);
    const registration: Registration = { frontend, queue };
    this.registered.set(name, registration);
    for (const awaited of this.awaiting.get(name)?.values() ?? []) {
      // The frontend is back: what it failed before is tried again now.
      clearTimeout(awaited.retryTimer);
      awaited.retryTimer = undefined;
      this.push(name, awaited);
    }
    return toDisposable(() => {
      if (this.registered.get(name) !== registration) return;
      this.registered.delete(name);
      for (const awaited of this.awaiting.get(name)?.values() ?? []) {
        if (awaited.state === 'queued' && awaited.registration === registration) {
          awaited.state = 'waiting';
          awaited.registration = undefined;
        }
      }
    });
  }

  /** A finished result that each of `frontends` must acknowledge. */
  expect(sessionId: string, promptId: string, frontends: readonly string[]): void {
    for (const name of frontends) {
      let forFrontend = this.awaiting.get(name);
      if (!forFrontend) {
        forFrontend = new Map();
        this.awaiting.set(name, forFrontend);
      }
      if (forFrontend.has(promptId)) continue;
      const awaited: Awaited = { sessionId, promptId, state: 'waiting', failures: 0 };
      forFrontend.set(promptId, awaited);
      if (this.opened && !this.registered.has(name)) this.options.log.info(`a result waits for the frontend "${name}", which is not running`, { session: sessionId, prompt: promptId });
      this.push(name, awaited);
    }
  }

  /** From now on results go to registered frontends; what waited goes out. */
  open(): void {
    this.opened = true;
    for (const [name, forFrontend] of this.awaiting) {
      if (forFrontend.size > 0 && !this.registered.has(name)) this.options.log.info(`${forFrontend.size} result(s) wait for the frontend "${name}", which is not running`);
      for (const awaited of forFrontend.values()) this.push(name, awaited);
    }
  }

  pause(): void {
    this.opened = false;
  }

  /** Whether a result of the session still waits for a frontend. */
  waitsFor(sessionId: string): boolean {
    for (const forFrontend of this.awaiting.values()) for (const awaited of forFrontend.values()) if (awaited.sessionId === sessionId) return true;
    return false;
  }

  /** Results of a deleted session go to nobody. */
  forgetSession(sessionId: string): void {
    for (const forFrontend of this.awaiting.values()) {
      for (const [promptId, awaited] of forFrontend) {
        if (awaited.sessionId !== sessionId) continue;
        clearTimeout(awaited.retryTimer);
        forFrontend.delete(promptId);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const forFrontend of this.awaiting.values()) for (const awaited of forFrontend.values()) clearTimeout(awaited.retryTimer);
  }

  private push(name: string, awaited: Awaited): void {
    const registration = this.registered.get(name);
    if (this.closed || !this.opened || !registration || awaited.state !== 'waiting' || awaited.retryTimer) return;
    awaited.state = 'queued';
    awaited.registration = registration;
    registration.queue.pushTask(() => this.send(name, registration, awaited));
  }

  private send(name: string, registration: Registration, awaited: Awaited): void {
    if (awaited.state !== 'queued' || awaited.registration !== registration || !this.isAwaited(name, awaited)) return;
    const result = this.options.loadResult(awaited.sessionId, awaited.promptId);
    if (!result) {
      this.remove(name, awaited);
      return;
    }
    awaited.state = 'sending';
    let delivering: Promise<void>;
    try {
      delivering = Promise.resolve(registration.frontend.deliver(result));
    } catch (error) {
      delivering = Promise.reject(error as Error);
    }
    delivering.then(
      () => this.acknowledged(name, awaited),
      (error: unknown) => this.failed(name, awaited, error),
    );
  }

  private acknowledged(name: string, awaited: Awaited): void {
    if (!this.isAwaited(name, awaited)) return;
    try {
      this.options.acknowledge(awaited.sessionId, awaited.promptId, name);
    } catch (error) {
      this.options.log.error('could not record that a frontend acknowledged a result', { frontend: name, prompt: awaited.promptId, error: (error as Error).message });
    }
    this.remove(name, awaited);
  }

  private failed(name: string, awaited: Awaited, error: unknown): void {
    if (!this.isAwaited(name, awaited)) return;
    awaited.failures += 1;
    awaited.state = 'waiting';
    awaited.registration = undefined;
    const { firstMs, maxMs } = this.options.retry ?? DEFAULT_RETRY;
    const delayMs = Math.min(maxMs, firstMs * 2 ** Math.min(awaited.failures - 1, 30));
    this.options.log.warn(`the frontend "${name}" could not deliver a result; trying again in ${Math.round(delayMs / 1000)} s`, {
      session: awaited.sessionId,
      prompt: awaited.promptId,
      failures: awaited.failures,
      error: error instanceof Error ? error.message : String(error),
    });
    if (this.closed) return;
    awaited.retryTimer = setTimeout(() => {
      awaited.retryTimer = undefined;
      this.push(name, awaited);
    }, delayMs);
    awaited.retryTimer.unref();
  }

  private isAwaited(name: string, awaited: Awaited): boolean {
    return this.awaiting.get(name)?.get(awaited.promptId) === awaited;
  }

  private remove(name: string, awaited: Awaited): void {
    clearTimeout(awaited.retryTimer);
    this.awaiting.get(name)?.delete(awaited.promptId);
    if (!this.waitsFor(awaited.sessionId)) this.options.settled(awaited.sessionId);
  }
}

import { DeliveryQueue, type DeliveryCallback } from './delivery-queue.ts';
import type { EngineEvent, ResultEvent } from './events.ts';
import { FrontendAcks, resultFrontends, type Frontend, type FrontendAcksOptions } from './frontends.ts';
import { unacknowledged, type SessionStore } from './session-store.ts';
import type { PromptRecord } from './session-types.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import type { Logger } from '../util/log.ts';

export { DeliveryQueue, type DeliveryCallback } from './delivery-queue.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event as a part of the engine raises it, before it is tagged with its session, user and prompt. */
export type UntaggedEvent = DistributiveOmit<EngineEvent, 'sessionId' | 'user' | 'promptId'>;

/** The session an event is about. */
export interface EventSession {
  readonly id: string;
  readonly user: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Results kept in memory for delivery callbacks that are not registered yet. */
const MAX_HELD_RESULTS = 1000;

/** A result kept for the first callback; the frontends it is for get it through their acknowledgements instead. */
interface HeldResult {
  readonly event: ResultEvent;
  readonly frontends: readonly string[];
}

export interface DeliveryOptions {
  readonly log: Logger;
  /** Results are held until open() when false. */
  readonly open: boolean;
  /** Removes the secret values of the event's user from events before anyone sees them, and from stored results. */
  readonly redact?: <E extends EngineEvent>(event: E) => E;
  /**
   * Where results are recorded: that a held result reached the callbacks (so it is not held again at
   * the next start), that a frontend acknowledged one; results handed to frontends are read from there.
   */
  readonly store: Pick<SessionStore, 'markDelivered' | 'markAcknowledged' | 'loadPrompt'>;
  /** No result of the session waits for a frontend any more. */
  readonly settled: (sessionId: string) => void;
  readonly frontendRetry?: FrontendAcksOptions['retry'] | undefined;
}

/**
 * Hands session events to the delivery callbacks (each through its own queue) and to whoever follows a
 * prompt; holds results while delivery is paused or no callback is registered. A result for a frontend
 * (its session's `frontend` label) goes to that frontend until it acknowledges it.
 */
export class Delivery {
  private readonly queues = new Set<DeliveryQueue>();
  /** The frontend each frontend queue belongs to. */
  private readonly frontendQueues = new Map<DeliveryQueue, string>();
  private readonly promptWatchers = new Map<string, Set<(event: EngineEvent) => void>>();
  private readonly heldResults: HeldResult[] = [];
  private readonly acks: FrontendAcks;
  private opened: boolean;

  constructor(private readonly options: DeliveryOptions) {
    this.opened = options.open;
    const { store } = options;
    this.acks = new FrontendAcks({
      log: options.log,
      loadResult: (sessionId, promptId) => {
        const prompt = store.loadPrompt(sessionId, promptId);
        return prompt?.result ? this.redact({ type: 'result', result: prompt.result, sessionId, user: prompt.user, promptId }) : undefined;
      },
      acknowledge: (sessionId, promptId, frontend) => store.markAcknowledged(sessionId, promptId, frontend),
      settled: options.settled,
      ...(options.frontendRetry ? { retry: options.frontendRetry } : {}),
    });
    if (this.opened) this.acks.open();
  }

  get isOpen(): boolean {
    return this.opened;
  }

  get callbackCount(): number {
    return this.queues.size;
  }

  /** Whether a result finishing now goes straight to callbacks (otherwise it is held). */
  get takesResults(): boolean {
    return this.opened && this.queues.size > 0;
  }

  /**
   * Registers a callback for every session event. Each callback has its own queue, so a slow one only
   * delays itself. Results that finished while no callback was registered are handed to the first one.
   */
  register(callback: DeliveryCallback): Disposable {
    return this.addQueue(new DeliveryQueue(callback, this.options.log));
  }

  /**
   * Registers a frontend: a delivery callback (its `onEvent`) that acknowledges the results meant for
   * it. Results that wait for it, from before a restart too, go out at once.
   */
  registerFrontend(name: string, frontend: Frontend): Disposable {
    if (this.acks.isRegistered(name)) throw new Error(`a frontend named "${name}" is already registered`);
    const queue = new DeliveryQueue((event) => frontend.onEvent?.(event), this.options.log);
    this.frontendQueues.set(queue, name);
    const asCallback = this.addQueue(queue);
    const asFrontend = this.acks.register(name, frontend, queue);
    return toDisposable(() => {
      asFrontend.dispose();
      asCallback.dispose();
      this.frontendQueues.delete(queue);
    });
  }

  /** Hands held results to every registered callback; from now on results go out as they come. */
  open(): void {
    this.opened = true;
    if (this.queues.size > 0) for (const held of this.heldResults.splice(0)) this.deliverHeld(held);
    this.acks.open();
  }

  pause(): void {
    this.opened = false;
    this.acks.pause();
  }

  /** Hands out held results if delivery is open and someone takes them. */
  releaseHeld(): void {
    if (this.takesResults && this.heldResults.length > 0) {
      for (const held of this.heldResults.splice(0)) this.deliverHeld(held);
    }
  }

  /** Follows one prompt's events (for a client streaming them); not a delivery callback. */
  watchPrompt(promptId: string, listener: (event: EngineEvent) => void): Disposable {
    let set = this.promptWatchers.get(promptId);
    if (!set) {
      set = new Set();
      this.promptWatchers.set(promptId, set);
    }
    set.add(listener);
    return toDisposable(() => {
      set.delete(listener);
      if (set.size === 0) this.promptWatchers.delete(promptId);
    });
  }

  redact<E extends EngineEvent>(event: E): E {
    return this.options.redact ? this.options.redact(event) : event;
  }

  /** Tags an event with its session and prompt, redacts it, and hands it to the prompt's watchers and (unless told not to) the callbacks. */
  emit(session: EventSession, promptId: string | undefined, event: UntaggedEvent, toCallbacks = true): void {
    const full = this.redact({ ...event, sessionId: session.id, user: session.user, promptId } as EngineEvent);
    this.toWatchers(full);
    if (toCallbacks) this.toCallbacks(full, []);
  }

  /**
   * A finished prompt's result (saved first): to the prompt's watchers, to the callbacks when the
   * record says it was delivered (else held for them), and to each frontend it is for until that
   * frontend acknowledges it.
   */
  emitResult(session: EventSession, prompt: PromptRecord): void {
    if (!prompt.result) return;
    const event = this.redact<ResultEvent>({ type: 'result', result: prompt.result, sessionId: session.id, user: session.user, promptId: prompt.id });
    const frontends = prompt.frontends ?? [];
    this.toWatchers(event);
    if (prompt.options.silent) return;
    if (prompt.delivered) this.toCallbacks(event, frontends);
    else this.hold(event, frontends);
    this.acks.expect(session.id, prompt.id, frontends);
  }

  /**
   * A result found on disk at a start: held for the callbacks unless they had it, and expected by each
   * frontend that has not acknowledged it. A record from before frontends acknowledged results is for
   * its session's frontend when it was not delivered.
   */
  recoverResult(session: EventSession, prompt: PromptRecord): void {
    if (prompt.status !== 'done' || !prompt.result) return;
    const frontends = prompt.frontends ?? (prompt.delivered ? [] : resultFrontends(session.labels));
    if (!prompt.delivered) this.hold({ type: 'result', result: prompt.result, sessionId: session.id, user: session.user, promptId: prompt.id }, frontends);
    this.acks.expect(session.id, prompt.id, unacknowledged({ frontends, deliveredTo: prompt.deliveredTo ?? [] }));
  }

  /** Whether a result of the session still waits for a frontend's acknowledgement. */
  awaitsFrontend(sessionId: string): boolean {
    return this.acks.waitsFor(sessionId);
  }

  /** A deleted session's results wait for nobody. */
  forgetSession(sessionId: string): void {
    this.acks.forgetSession(sessionId);
  }

  /**
   * Keeps a result for the first delivery callback. Only the newest are kept in memory; older ones
   * stay undelivered on disk and are held again at the next start.
   */
  private hold(event: ResultEvent, frontends: readonly string[]): void {
    this.heldResults.push({ event, frontends });
    if (this.heldResults.length > MAX_HELD_RESULTS) this.heldResults.splice(0, this.heldResults.length - MAX_HELD_RESULTS);
  }

  /** Resolves once every callback has taken what was handed to it. */
  async drained(): Promise<void> {
    await Promise.all([...this.queues].map((queue) => queue.drained()));
  }

  /** No more retries of frontends' deliveries. */
  close(): void {
    this.acks.close();
  }

  private addQueue(queue: DeliveryQueue): Disposable {
    this.queues.add(queue);
    if (this.opened && this.heldResults.length > 0) {
      const held = this.heldResults.splice(0);
      setImmediate(() => {
        for (const result of held) this.deliverHeld(result);
      });
    }
    return toDisposable(() => this.queues.delete(queue));
  }

  private toWatchers(event: EngineEvent): void {
    if (event.promptId === undefined) return;
    for (const listener of this.promptWatchers.get(event.promptId) ?? []) {
      try {
        listener(event);
      } catch (error) {
        this.options.log.warn('prompt watcher failed', { error });
      }
    }
  }

  /** To every callback but the frontends in `except`, which get the event through their acknowledgements. */
  private toCallbacks(event: EngineEvent, except: readonly string[]): void {
    for (const queue of this.queues) {
      const frontend = this.frontendQueues.get(queue);
      if (frontend === undefined || !except.includes(frontend)) queue.push(event);
    }
  }

  private deliverHeld(held: HeldResult): void {
    if (!this.takesResults) {
      this.hold(held.event, held.frontends);
      return;
    }
    const event = this.redact(held.event);
    this.toCallbacks(event, held.frontends);
    if (event.promptId) {
      try {
        this.options.store.markDelivered(event.sessionId, event.promptId);
      } catch (error) {
        this.options.log.error('could not record a result as delivered', { prompt: event.promptId, error: (error as Error).message });
      }
    }
  }
}

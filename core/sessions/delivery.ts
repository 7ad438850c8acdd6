import type { EngineEvent } from './events.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import type { Logger } from '../util/log.ts';

export type DeliveryCallback = (event: EngineEvent) => void | Promise<void>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event as a part of the engine raises it, before it is tagged with its session, user and prompt. */
export type UntaggedEvent = DistributiveOmit<EngineEvent, 'sessionId' | 'user' | 'promptId'>;

/** The session an event is about. */
export interface EventSession {
  readonly id: string;
  readonly user: string;
}

/** Beyond this many waiting events a stuck callback loses its oldest streaming events (never results). */
const DELIVERY_BACKLOG_LIMIT = 50_000;

/** Results kept in memory for delivery callbacks that are not registered yet. */
const MAX_HELD_RESULTS = 1000;

/** The line a stalled delivery callback may fall behind by before the engine warns about it. */
const DELIVERY_BACKLOG_WARNING = 10_000;

export interface DeliveryOptions {
  readonly log: Logger;
  /** Results are held until open() when false. */
  readonly open: boolean;
  /** Removes the secret values of the event's user from events before anyone sees them, and from stored results. */
  readonly redact?: <E extends EngineEvent>(event: E) => E;
  /** Records on disk that a held result reached the callbacks, so it is not held again at the next start. */
  readonly markDelivered: (sessionId: string, promptId: string) => void;
}

/**
 * Hands session events to the delivery callbacks (each through its own queue) and to whoever follows a
 * prompt; holds results while delivery is paused or no callback is registered.
 */
export class Delivery {
  private readonly queues = new Set<DeliveryQueue>();
  private readonly promptWatchers = new Map<string, Set<(event: EngineEvent) => void>>();
  private readonly heldResults: EngineEvent[] = [];
  private opened: boolean;

  constructor(private readonly options: DeliveryOptions) {
    this.opened = options.open;
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
    const queue = new DeliveryQueue(callback, this.options.log);
    this.queues.add(queue);
    if (this.opened && this.heldResults.length > 0) {
      const held = this.heldResults.splice(0);
      setImmediate(() => {
        for (const event of held) this.deliverHeld(event);
      });
    }
    return toDisposable(() => this.queues.delete(queue));
  }

  /** Hands held results to every registered callback; from now on results go out as they come. */
  open(): void {
    this.opened = true;
    if (this.queues.size > 0) for (const event of this.heldResults.splice(0)) this.deliverHeld(event);
  }

  pause(): void {
    this.opened = false;
  }

  /** Hands out held results if delivery is open and someone takes them. */
  releaseHeld(): void {
    if (this.takesResults && this.heldResults.length > 0) {
      for (const event of this.heldResults.splice(0)) this.deliverHeld(event);
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
    if (promptId !== undefined) {
      for (const listener of this.promptWatchers.get(promptId) ?? []) {
        try {
          listener(full);
        } catch (error) {
          this.options.log.warn('prompt watcher failed', { error });
        }
      }
    }
    if (toCallbacks) for (const queue of this.queues) queue.push(full);
  }

  /**
   * Keeps a result for the first delivery callback. Only the newest are kept in memory; older ones
   * stay undelivered on disk and are held again at the next start.
   */
  hold(event: EngineEvent): void {
    this.heldResults.push(event);
    if (this.heldResults.length > MAX_HELD_RESULTS) this.heldResults.splice(0, this.heldResults.length - MAX_HELD_RESULTS);
  }

  /** Resolves once every callback has taken what was handed to it. */
  async drained(): Promise<void> {
    await Promise.all([...this.queues].map((queue) => queue.drained()));
  }

  private deliverHeld(held: EngineEvent): void {
    if (!this.takesResults) {
      this.hold(held);
      return;
    }
    const event = this.redact(held);
    for (const queue of this.queues) queue.push(event);
    if (event.type === 'result' && event.promptId) {
      try {
        this.options.markDelivered(event.sessionId, event.promptId);
      } catch (error) {
        this.options.log.error('could not record a result as delivered', { prompt: event.promptId, error: (error as Error).message });
      }
    }
  }
}

/** Hands events to one callback in order, without letting it hold up anyone else. */
export class DeliveryQueue {
  private readonly pending: EngineEvent[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly callback: DeliveryCallback,
    private readonly log: Logger,
  ) {}

  push(event: EngineEvent): void {
    this.pending.push(event);
    if (this.pending.length === DELIVERY_BACKLOG_WARNING) this.log.warn('a delivery callback is falling behind', { backlog: this.pending.length });
    if (this.pending.length > DELIVERY_BACKLOG_LIMIT) this.shed();
    this.running ??= this.drain();
  }

  /** A callback that hangs must not hold the daemon's memory: streaming pieces go first, results never. */
  private shed(): void {
    const before = this.pending.length;
    const kept = this.pending.filter((e, i) => e.type === 'result' || e.type === 'extension' || i >= before - DELIVERY_BACKLOG_WARNING);
    this.pending.length = 0;
    for (const event of kept) this.pending.push(event);
    this.log.warn('a delivery callback is stuck; dropped its oldest streaming events', { dropped: before - kept.length });
  }

  drained(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.pending.length > 0) {
      const event = this.pending.shift() as EngineEvent;
      try {
        await this.callback(event);
      } catch (error) {
        this.log.error('delivery callback failed', { error, event: event.type, session: event.sessionId });
      }
    }
    this.running = undefined;
  }
}

import type { EngineEvent } from './events.ts';
import type { Logger } from '../util/log.ts';

export type DeliveryCallback = (event: EngineEvent) => void | Promise<void>;

/** Beyond this many waiting events a stuck callback loses its oldest streaming events (never results). */
const DELIVERY_BACKLOG_LIMIT = 50_000;

/** The line a stalled delivery callback may fall behind by before the engine warns about it. */
const DELIVERY_BACKLOG_WARNING = 10_000;

/** Work to run in the queue's order, between events (a result handed to a frontend). */
interface QueuedTask {
  readonly type: 'task';
  readonly run: () => void;
}

type QueueItem = EngineEvent | QueuedTask;

/** Hands events to one callback in order, without letting it hold up anyone else. */
export class DeliveryQueue {
  private readonly pending: QueueItem[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly callback: DeliveryCallback,
    private readonly log: Logger,
  ) {}

  push(event: EngineEvent): void {
    this.enqueue(event);
  }

  /** Runs `run` once every event pushed before it was handed to the callback; it is not awaited. */
  pushTask(run: () => void): void {
    this.enqueue({ type: 'task', run });
  }

  drained(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private enqueue(item: QueueItem): void {
    this.pending.push(item);
    if (this.pending.length === DELIVERY_BACKLOG_WARNING) this.log.warn('a delivery callback is falling behind', { backlog: this.pending.length });
    if (this.pending.length > DELIVERY_BACKLOG_LIMIT) this.shed();
    this.running ??= this.drain();
  }

  /** A callback that hangs must not hold the daemon's memory: streaming pieces go first, results never. */
  private shed(): void {
    const before = this.pending.length;
    const kept = this.pending.filter((e, i) => e.type === 'result' || e.type === 'extension' || e.type === 'task' || i >= before - DELIVERY_BACKLOG_WARNING);
    this.pending.length = 0;
    for (const item of kept) this.pending.push(item);
    this.log.warn('a delivery callback is stuck; dropped its oldest streaming events', { dropped: before - kept.length });
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.pending.length > 0) {
      const item = this.pending.shift() as QueueItem;
      if (item.type === 'task') {
        try {
          item.run();
        } catch (error) {
          this.log.error('a delivery task failed', { error });
        }
        continue;
      }
      try {
        await this.callback(item);
      } catch (error) {
        this.log.error('delivery callback failed', { error, event: item.type, session: item.sessionId });
      }
    }
    this.running = undefined;
  }
}

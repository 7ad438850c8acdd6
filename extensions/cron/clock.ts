/** Time as the scheduler sees it: the real one in the daemon, a fake one in tests. */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms` (at most MAX_TIMER_MS; longer waits must be re-armed by the caller). */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** The longest delay a Node timer honours; a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function checkDelay(ms: number): number {
  if (Number.isNaN(ms)) throw new RangeError('timer delay is NaN');
  if (ms > MAX_TIMER_MS) throw new RangeError(`timer delay ${ms} ms exceeds ${MAX_TIMER_MS} ms; arm a shorter timer and re-arm it`);
  return Math.max(0, ms);
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, checkDelay(ms));
    return { cancel: () => clearTimeout(timer) };
  },
};

interface FakeTimer {
  due: number;
  order: number;
  fn: () => void;
}

/** A clock that moves only when told to; timers run in time order (ties: in the order they were set). */
export class FakeClock implements Clock {
  private current: number;
  private timers: FakeTimer[] = [];
  private armed = 0;

  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { due: this.current + checkDelay(ms), order: this.armed++, fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  /** Moves time forward by `ms`, running every timer that comes due, including timers set by those timers. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let timer = this.takeDue(target); timer; timer = this.takeDue(target)) {
      this.current = timer.due;
      timer.fn();
    }
    this.current = target;
  }

  /** Like advance, but lets pending promises settle before each timer and at the end. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (let timer = this.takeDue(target); timer; timer = this.takeDue(target)) {
      this.current = timer.due;
      timer.fn();
      await settle();
    }
    this.current = target;
  }

  /** Moves time forward to `time` (see advanceAsync). */
  async advanceToAsync(time: number): Promise<void> {
    await this.advanceAsync(Math.max(0, time - this.current));
  }

  /** How many timers are armed. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** When the earliest armed timer is due. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.due;
  }

  private earliest(): FakeTimer | undefined {
    let first: FakeTimer | undefined;
    for (const timer of this.timers) {
      if (!first || timer.due < first.due || (timer.due === first.due && timer.order < first.order)) first = timer;
    }
    return first;
  }

  private takeDue(target: number): FakeTimer | undefined {
    const first = this.earliest();
    if (!first || first.due > target) return undefined;
    this.timers = this.timers.filter((t) => t !== first);
    return first;
  }
}

/** Resolves after every promise already queued has had its turn. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

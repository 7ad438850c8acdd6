/** Something that can be undone exactly once. */
export interface Disposable {
  dispose(): void;
}

export function toDisposable(undo: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      undo();
    },
  };
}

/** Owns disposables and undoes them all, newest first, once. */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      item.dispose();
    } else {
      this.items.push(item);
    }
    return item;
  }

  /** Adds a disposable that leaves the store when it is disposed early, so short-lived ones do not pile up. */
  addTransient(item: Disposable): Disposable {
    const transient = toDisposable(() => {
      const index = this.items.indexOf(transient);
      if (index >= 0) this.items.splice(index, 1);
      item.dispose();
    });
    return this.add(transient);
  }

  get size(): number {
    return this.items.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      try {
        this.items.pop()?.dispose();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'some disposables failed');
  }
}

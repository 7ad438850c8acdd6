/** Who waits on whom: an edge from each asking session to the session it waits on. */
export type WaitEdges = ReadonlyMap<string, readonly string[]>;

/**
 * The sessions from `start` to `goal` along waits (both included), or undefined when `start` does
 * not wait on `goal`, directly or through others. `start === goal` is a chain of one.
 */
export function waitChain(edges: WaitEdges, start: string, goal: string): string[] | undefined {
  const previous = new Map<string, string | undefined>([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    if (at === goal) {
      const chain: string[] = [];
      for (let step: string | undefined = at; step !== undefined; step = previous.get(step)) chain.unshift(step);
      return chain;
    }
    for (const next of edges.get(at) ?? []) {
      if (previous.has(next)) continue;
      previous.set(next, at);
      queue.push(next);
    }
  }
  return undefined;
}

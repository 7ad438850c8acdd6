import type { ExtensionUsage, UsageSnapshot } from '../../core/usage/usage-types.ts';

/** `ctx.usage` for tests without a daemon: a fixed (or changeable) reading and no costs. */
export function fakeUsage(snapshot: Partial<UsageSnapshot> = {}): ExtensionUsage & { readonly reads: number; set(next: Partial<UsageSnapshot>): void } {
  let current: UsageSnapshot = { auth: 'unknown', checkedAt: new Date().toISOString(), error: 'no usage source in this test', ...snapshot };
  let reads = 0;
  return {
    current: async () => {
      reads += 1;
      return current;
    },
    get reads() {
      return reads;
    },
    costs: () => [],
    sessionCosts: () => [],
    set(next) {
      current = { auth: 'unknown', checkedAt: new Date().toISOString(), ...next };
    },
  };
}

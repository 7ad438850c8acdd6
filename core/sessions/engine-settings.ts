import type { ClaudeArgsSettings } from './claude/claude-args.ts';
import type { WorkingRoots } from './working-roots.ts';

/** The engine's settings from the configuration; they can change while it runs (updateSettings). */
export interface EngineSettings extends ClaudeArgsSettings {
  readonly env: Readonly<Record<string, string | null>>;
  readonly interruptGraceMs: number;
  readonly maxPerUser: number;
  readonly idleTimeoutMs: number;
  /** Warm processes kept at most; past it the least recently active idle one is offloaded. */
  readonly maxWarm: number;
  readonly promptTimeoutMs: number;
  readonly defaultCwd: string;
  /** Where each user's sessions may work. */
  readonly roots: WorkingRoots;
}

/** Warm processes that fit in half of the machine's memory at about 220 MiB each, at least 4. */
export function defaultMaxWarm(totalMemoryBytes: number): number {
  return Math.max(4, Math.floor((totalMemoryBytes * 0.5) / (220 * 1024 ** 2)));
}

import type { ClaudeArgsSettings } from './claude/claude-args.ts';
import type { WorkingRoots } from './working-roots.ts';

/** The engine's settings from the configuration; they can change while it runs (updateSettings). */
export interface EngineSettings extends ClaudeArgsSettings {
  readonly env: Readonly<Record<string, string | null>>;
  readonly interruptGraceMs: number;
  readonly maxPerUser: number;
  readonly idleTimeoutMs: number;
  readonly promptTimeoutMs: number;
  readonly defaultCwd: string;
  /** Where each user's sessions may work. */
  readonly roots: WorkingRoots;
}

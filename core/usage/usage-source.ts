import { CliUsageSource } from './cli-usage-source.ts';
import { CommandUsageSource } from './command-usage-source.ts';
import type { UsageSource } from './usage-types.ts';

export interface UsageSourceSettings {
  /** `usage.command`: when set, that command is the source. */
  readonly command: readonly string[] | null;
  readonly timeoutMs: number;
  readonly claudePath: string;
  /** The environment of a session's CLI. */
  readonly env: () => Readonly<Record<string, string>>;
  /** Where `usage.command` runs (the CLI runs in an empty directory of its own). */
  readonly cwd: string;
}

/** The configured command, else the claude CLI itself. */
export function createUsageSource(settings: UsageSourceSettings): UsageSource {
  const { env, timeoutMs } = settings;
  return settings.command ? new CommandUsageSource({ argv: settings.command, env, timeoutMs, cwd: settings.cwd }) : new CliUsageSource({ claudePath: settings.claudePath, env, timeoutMs });
}

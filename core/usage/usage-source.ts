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
  readonly cwd: string;
}

/** The configured command, else the claude CLI itself. */
export function createUsageSource(settings: UsageSourceSettings): UsageSource {
  const common = { env: settings.env, cwd: settings.cwd, timeoutMs: settings.timeoutMs };
  return settings.command ? new CommandUsageSource({ argv: settings.command, ...common }) : new CliUsageSource({ claudePath: settings.claudePath, ...common });
}

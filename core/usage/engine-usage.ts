import type { Config } from '../config/config.ts';
import type { ClaudeEngine } from '../sessions/engine.ts';
import type { EventLog } from '../sessions/event-log.ts';
import { sessionEnvironment } from '../sessions/session-env.ts';
import { DaemonUsage } from './daemon-usage.ts';
import { createUsageSource } from './usage-source.ts';

/**
 * The daemon's usage: read from the source the configuration names now, asking the CLI with the
 * environment a session gets.
 */
export function usageFor(
  engine: ClaudeEngine,
  options: { readonly eventLog: EventLog; readonly claudePath: string; readonly config: () => Config; readonly baseEnv: () => NodeJS.ProcessEnv },
): DaemonUsage {
  return new DaemonUsage({
    eventLog: options.eventLog,
    source: () => {
      const config = options.config();
      return createUsageSource({
        command: config.usage.command,
        timeoutMs: config.usage.timeout,
        claudePath: options.claudePath,
        env: () => sessionEnvironment(options.baseEnv(), config.engine.env, engine.secretEnvNames()),
        cwd: config.sessions.default_cwd,
      });
    },
    cacheMs: () => options.config().usage.cache,
    userOf: (sessionId) => engine.getSession(sessionId)?.user,
  });
}

/**
 * The daemon's own environment variables leave `process.env` once read, so that nothing the daemon or
 * an extension runs later (a vault_run command, a helper an extension spawns with the default
 * environment) inherits them. The daemon keeps a private copy of the environment it started with for
 * what legitimately needs it: loading the configuration (also on reload), sessions' base environment
 * and extensions' `ctx.env`.
 */

/**
 * The `CLAUDE_EXT_*` variables that stay: `CLAUDE_EXT_STATE_DIR` only says where the daemon lives, is no
 * secret, and a `claude-ext` command run from the daemon's processes without `--config` needs it to
 * reach this daemon rather than the one in the default state dir. It is the only `CLAUDE_EXT_*`
 * variable the configuration reads (there is no config-file variable); the session variables
 * (`CLAUDE_EXT_SESSION_ID`, `CLAUDE_EXT_BRIDGE_TOKEN`, ...) are set per session, never taken from the
 * daemon's environment, and are dropped like every other.
 */
const KEPT = new Set(['CLAUDE_EXT_STATE_DIR']);
const OWN_PREFIX = 'CLAUDE_EXT_';

/** Removes from `env` (the daemon's `process.env`) its own `CLAUDE_EXT_*` variables but the kept ones, and every name in `secretNames`. */
export function dropDaemonSecrets(env: NodeJS.ProcessEnv, secretNames: Iterable<string> = []): void {
  for (const name of Object.keys(env)) {
    if (name.startsWith(OWN_PREFIX) && !KEPT.has(name)) delete env[name];
  }
  for (const name of secretNames) delete env[name];
}

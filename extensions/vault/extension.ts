import path from 'node:path';
import { z } from 'zod';
import { duration, RpcError, RpcErrorCode, size, valuesRedactor, type Extension } from 'claude-ext/extension';
import { validateKey, validateTags, validateValue } from './keys.ts';
import { PASSPHRASE_ENV, resolvePassphrase } from './passphrase.ts';
import { runWithSecrets } from './run-command.ts';
import { VaultStore, type VaultEntry } from './store.ts';
import { deleteParams, listParams, METHODS, runParams, storeParams, type ListedEntry } from './protocol.ts';
import { tools } from './tools.ts';

const configSchema = z.strictObject({
  /** A file holding the passphrase; without it and without CLAUDE_EXT_VAULT_PASSPHRASE one is generated. */
  passphrase_file: z.string().min(1).optional(),
  /** How long a vault_run command may run: at most what a timer can wait (a longer one would end every command at once). */
  run_timeout: duration.refine((ms) => ms >= 1000 && ms <= 2 ** 31 - 1, 'must be from 1s to 24d (the longest a timer can wait)').default(120_000),
  /** Output of a vault_run command beyond this is cut. */
  run_max_output: size.default(1024 * 1024),
});

type VaultConfig = z.output<typeof configSchema>;

/** What other extensions use in-process (e.g. a chat frontend's /vault command). */
export interface VaultService {
  set(user: string, key: string, value: string, tags?: readonly string[]): void;
  delete(user: string, key: string): boolean;
  list(user: string, tag?: string): VaultEntry[];
  /** For extensions that call a service with a credential; never hand it to a model. */
  get(user: string, key: string): string | undefined;
}

const VAULT_REFERENCE = /^vault:(.+)$/;

export default (): Extension<VaultConfig> => {
  let store: VaultStore | undefined;
  let config: VaultConfig;
  return {
    name: 'vault',
    description: 'Encrypted credentials per user that sessions can use without reading them',
    configSchema,
    start(ctx) {
      config = ctx.config;
      ctx.markSecretEnv(PASSPHRASE_ENV);
      const passphraseFile = config.passphrase_file ? ctx.resolvePath(config.passphrase_file) : undefined;
      // A passphrase file outside the state dir would otherwise be where sessions can read it.
      if (passphraseFile) ctx.hideFromSessions(passphraseFile);
      const passphrase = resolvePassphrase({
        env: ctx.env,
        ...(passphraseFile ? { passphraseFile } : {}),
        dataDir: ctx.dataDir,
      });
      if (passphrase.warning) ctx.logger.warn(passphrase.warning);
      if (passphrase.source === 'generated' && passphrase.created) {
        ctx.logger.warn(`generated a vault passphrase in ${passphrase.file}: back it up; without it the vault cannot be opened`);
      }
      const vault = VaultStore.open(path.join(ctx.dataDir, 'vault.json'), passphrase.passphrase);
      store = vault;
      ctx.track({ dispose: () => vault.close() });
      // A user's output hides that user's values only (all users' when the user is not known).
      const redactor = valuesRedactor((user) => vault.values(user));
      ctx.addRedactor({
        redact: (text, user) => redactor.redact(text, user),
        maskToolInput: (name, input) => maskStoredValue(name, input),
      });
      const changed = <T>(result: T): T => {
        redactor.invalidate();
        return result;
      };

      const service: VaultService = {
        set: (user, key, value, tags) => changed(vault.set(user, validateKey(key), validateValue(value), tags === undefined ? undefined : validateTags(tags))),
        delete: (user, key) => changed(vault.delete(user, validateKey(key))),
        list: (user, tag) => vault.list(user, tag),
        get: (user, key) => vault.get(user, validateKey(key)),
      };
      ctx.provideService('vault', service);
      ctx.addTools({ server: 'vault', tools, tags: ['credentials'] });

      ctx.addBridgeMethod(METHODS.store, { params: storeParams, access: 'any' }, (p, call) => {
        const user = call.actingUser(p.user);
        service.set(user, p.key, p.value, p.tags);
        ctx.record('vault_stored', { user, key: p.key });
        return { stored: p.key };
      });
      ctx.addBridgeMethod(METHODS.list, { params: listParams, access: 'any' }, (p, call): ListedEntry[] => {
        const user = call.visibleUser(p.user);
        const users = user === undefined ? vault.userIds() : [user];
        return users.flatMap((owner) => service.list(owner, p.tag).map((entry) => ({ user: owner, ...entry })));
      });
      ctx.addBridgeMethod(METHODS.delete, { params: deleteParams, access: 'any' }, (p, call) => {
        const user = call.actingUser(p.user);
        const deleted = service.delete(user, p.key);
        if (deleted) ctx.record('vault_deleted', { user, key: p.key });
        return { deleted };
      });
      ctx.addBridgeMethod(METHODS.run, { params: runParams }, async (p, call) => {
        const session = call.session;
        const env: Record<string, string> = {};
        for (const [name, reference] of Object.entries(p.env)) {
          const key = VAULT_REFERENCE.exec(reference)?.[1];
          if (!key) throw new RpcError(RpcErrorCode.InvalidParams, `env.${name}: expected "vault:<key>", e.g. "vault:github/token"`);
          const value = vault.get(session.user, validateKey(key));
          if (value === undefined) throw new RpcError(RpcErrorCode.ServerError, `env.${name}: no secret "${key}" in your vault (vault_list shows what there is)`);
          env[name] = value;
        }
        const result = await runWithSecrets({ command: p.command, cwd: session.cwd, env, timeoutMs: config.run_timeout, maxOutputBytes: config.run_max_output, signal: call.signal,
          // In the session's own sandbox: the command sees what the session sees, nothing more.
          wrap: async (argv) => ctx.sessions.sandboxCommand(session.id, argv),
        });
        ctx.record('vault_run', { session: session.id, keys: Object.values(p.env).map((r) => r.slice('vault:'.length)), exit: result.exitCode, timed_out: result.timedOut });
        const hide = valuesRedactor(() => [...Object.values(env), ...vault.values(session.user)]);
        return { ...result, stdout: hide.redact(result.stdout, session.user), stderr: hide.redact(result.stderr, session.user) };
      });
    },
    reconfigure(next) {
      config = { ...next, passphrase_file: config.passphrase_file };
    },
    healthCheck() {
      return store ? { status: 'ok' } : { status: 'error', reason: 'the vault is not open' };
    },
  };
};

/** The value in a vault_store call is a secret before the vault knows it. */
function maskStoredValue(name: string, input: unknown): unknown {
  if (!input || typeof input !== 'object') return input;
  const record = input as Record<string, unknown>;
  if (name === 'mcp__vault__vault_store' && 'value' in record) return { ...record, value: '[REDACTED]' };
  if (name === 'mcp__vault__vault' && record.action === 'vault_store' && record.params && typeof record.params === 'object') {
    return { ...record, params: { ...(record.params as Record<string, unknown>), value: '[REDACTED]' } };
  }
  return input;
}


import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startDaemon, type RunningDaemon } from '../../../core/daemon.ts';
import { killTmuxServer } from '../../support/harness.ts';

/** What the probe extension saw at each start: its env, its config and the daemon's process.env. */
interface ProbeStart {
  round: number;
  envToken: string | undefined;
  configToken: string;
  processToken: string | undefined;
}

const PROBE = `
export default () => ({
  name: 'probe',
  start(ctx: any) {
    ctx.markSecretEnv('PROBE_TOKEN');
    ((globalThis as any).__probeStarts ??= []).push({ round: ctx.config.round, envToken: ctx.env.PROBE_TOKEN, configToken: ctx.config.token, processToken: process.env.PROBE_TOKEN });
  },
});
`;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-daemon-env-'));
let daemon: RunningDaemon | undefined;
after(async () => {
  await daemon?.shutdown();
  killTmuxServer(path.join(root, 'state', 'tmux.sock'));
  fs.rmSync(root, { recursive: true, force: true });
});

test("the daemon's own variables and those marked secret leave process.env, and a reload still reads them", async () => {
  const stateDir = path.join(root, 'state');
  const extensionsDir = path.join(root, 'extensions');
  fs.mkdirSync(path.join(extensionsDir, 'probe'), { recursive: true });
  fs.writeFileSync(path.join(extensionsDir, 'probe', 'extension.ts'), PROBE);
  const configFile = path.join(root, 'config.yaml');
  const writeConfig = (round: number): void =>
    fs.writeFileSync(configFile, `enabled: [vault, probe]\nextensions_dirs: [${JSON.stringify(extensionsDir)}]\nextensions:\n  probe:\n    round: ${round}\n    token: \${PROBE_TOKEN}\n`);
  writeConfig(1);
  // The daemon is given process.env, as `claude-ext start` gives it.
  Object.assign(process.env, {
    CLAUDE_EXT_STATE_DIR: stateDir,
    CLAUDE_EXT_VAULT_PASSPHRASE: 'passphrase-from-the-environment',
    CLAUDE_EXT_SOMETHING: 'x',
    PROBE_TOKEN: 'probe-token-value',
  });

  daemon = await startDaemon({ configPath: configFile, cwd: root, env: process.env });

  assert.equal(process.env.CLAUDE_EXT_VAULT_PASSPHRASE, undefined);
  assert.equal(process.env.CLAUDE_EXT_SOMETHING, undefined);
  assert.equal(process.env.PROBE_TOKEN, undefined, 'a name an extension marks secret leaves process.env once extensions have started');
  assert.equal(process.env.CLAUDE_EXT_STATE_DIR, stateDir, 'where the daemon lives stays for the commands it runs');
  assert.ok(process.env.PATH, 'other variables stay');
  const vault = (await daemon.extensions.status()).find((e) => e.name === 'vault');
  assert.deepEqual([vault?.state, vault?.health.status], ['running', 'ok']);
  assert.ok(!fs.existsSync(path.join(stateDir, 'data', 'vault', 'passphrase')), 'the vault opened with the passphrase from the environment, none was generated');

  writeConfig(2);
  const reloaded = await daemon.reload();
  assert.equal(reloaded.ok, true, JSON.stringify(reloaded));
  const starts = (globalThis as { __probeStarts?: ProbeStart[] }).__probeStarts ?? [];
  assert.deepEqual(
    starts.map((s) => [s.round, s.envToken, s.configToken]),
    [
      [1, 'probe-token-value', 'probe-token-value'],
      [2, 'probe-token-value', 'probe-token-value'],
    ],
    'the restarted extension and the reloaded configuration still see the variable',
  );
  assert.equal(starts[1]?.processToken, undefined, 'a restart does not bring it back into process.env');
  assert.equal(process.env.PROBE_TOKEN, undefined);
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CliContext } from '../../../../core/cli/cli-context.ts';
import { daemonPlaces } from '../../../../core/cli/daemon-places.ts';
import { loadConfig } from '../../../../core/config/config.ts';
import { BUILTIN_EXTENSIONS_DIR } from '../../../../core/config/paths.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'places-'));
  roots.push(dir);
  return dir;
}

function context(cwd: string, env: NodeJS.ProcessEnv): CliContext {
  return { argv: [], cwd, env, output: { out: () => {}, err: () => {} }, stdin: async () => '' };
}

/** What the daemon's own configuration loading decides for the same options. */
function fromConfig(cwd: string, env: NodeJS.ProcessEnv, configPath?: string): { stateDir: string; extensionsDirs: string[] } {
  const { config } = loadConfig({ ...(configPath ? { configPath } : {}), cwd, env });
  return { stateDir: config.state_dir, extensionsDirs: [BUILTIN_EXTENSIONS_DIR, ...config.extensions_dirs] };
}

describe('where the CLI looks for the daemon', () => {
  test('without a config file, the same places as the configuration loader decides', async () => {
    const cwd = tempDir();
    const envs: NodeJS.ProcessEnv[] = [
      { HOME: '/home/tester' },
      { HOME: '/home/tester', CLAUDE_EXT_STATE_DIR: '~/elsewhere' },
      { HOME: '/home/tester', CLAUDE_EXT_STATE_DIR: 'relative/state' },
      { HOME: '/home/tester', CLAUDE_EXT_STATE_DIR: '' },
      {},
    ];
    for (const env of envs) assert.deepEqual(await daemonPlaces(context(cwd, env), undefined), fromConfig(cwd, env), JSON.stringify(env));
  });

  test('a config file, named or ./config.yaml, is read', async () => {
    const cwd = tempDir();
    const env = { HOME: '/home/tester' };
    fs.writeFileSync(path.join(cwd, 'config.yaml'), 'state_dir: ./here\nextensions_dirs: [./mine]\n');
    fs.writeFileSync(path.join(cwd, 'other.yaml'), 'state_dir: /srv/state\n');
    assert.deepEqual(await daemonPlaces(context(cwd, env), undefined), { stateDir: path.join(cwd, 'here'), extensionsDirs: [BUILTIN_EXTENSIONS_DIR, path.join(cwd, 'mine')] });
    assert.deepEqual(await daemonPlaces(context(cwd, env), 'other.yaml'), fromConfig(cwd, env, 'other.yaml'));
    assert.equal((await daemonPlaces(context(cwd, env), 'other.yaml')).stateDir, '/srv/state');
  });
});

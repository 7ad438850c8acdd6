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

/** Every run keeps its remembered locations in a directory of its own, never the real cache. */
const cacheHome = tempDir();

function context(cwd: string, env: NodeJS.ProcessEnv): CliContext {
  return { argv: [], cwd, env: { XDG_CACHE_HOME: cacheHome, ...env }, output: { out: () => {}, err: () => {} }, stdin: async () => '' };
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

  test('with a config file, the same places as the configuration loader decides, without loading the schema', async () => {
    const cwd = tempDir();
    fs.writeFileSync(path.join(cwd, '.env'), 'FROM_DOTENV=/srv/dotenv\n');
    const files: Record<string, string> = {
      'plain.yaml': 'state_dir: ./here\nextensions_dirs: [./mine, ~/theirs]\n',
      'vars.yaml': 'state_dir: ${STATE:-~/fallback}\nextensions_dirs:\n  - ${FROM_DOTENV}/ext\n',
      'nulls.yaml': 'state_dir:\nextensions_dirs: ~\nengine:\n  model: x\n',
      'quoted.yaml': "state_dir: '/srv/with # hash'\nsessions: { max_per_user: 3 }\n",
      'empty.yaml': '',
    };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(cwd, name), text);
    const envs: NodeJS.ProcessEnv[] = [{ HOME: '/home/tester' }, { HOME: '/home/tester', STATE: '/srv/from-env' }, { HOME: '/home/tester', CLAUDE_EXT_STATE_DIR: '/srv/override' }];
    for (const name of Object.keys(files)) {
      for (const env of envs) assert.deepEqual(await daemonPlaces(context(cwd, env), name), fromConfig(cwd, env, name), `${name} ${JSON.stringify(env)}`);
    }
  });

  test('an invalid state_dir or extensions_dirs gets the configuration loader\'s error, naming the line', async () => {
    const cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'bad.yaml'), 'sessions:\n  max_per_user: 2\nextensions_dirs: 7\n');
    await assert.rejects(daemonPlaces(context(cwd, { HOME: '/home/tester' }), 'bad.yaml'), /bad\.yaml:3: extensions_dirs: /);
  });

  test('a config file\'s location is remembered, and anything it depends on changing is read anew', async () => {
    const cwd = tempDir();
    const file = path.join(cwd, 'remembered.yaml');
    const env = { HOME: '/home/tester', WHERE: '/srv/a' };
    fs.writeFileSync(file, 'state_dir: ${WHERE}\n');
    assert.equal((await daemonPlaces(context(cwd, env), file)).stateDir, '/srv/a');
    assert.equal((await daemonPlaces(context(cwd, env), file)).stateDir, '/srv/a', 'remembered');
    assert.equal((await daemonPlaces(context(cwd, { ...env, WHERE: '/srv/b' }), file)).stateDir, '/srv/b', 'a variable it refers to changed');
    fs.writeFileSync(file, 'state_dir: /srv/c\n');
    assert.equal((await daemonPlaces(context(cwd, env), file)).stateDir, '/srv/c', 'the file changed');
    fs.writeFileSync(file, 'state_dir: ${FROM_DOTENV}\n');
    fs.writeFileSync(path.join(cwd, '.env'), 'FROM_DOTENV=/srv/d\n');
    assert.equal((await daemonPlaces(context(cwd, env), file)).stateDir, '/srv/d');
    fs.writeFileSync(path.join(cwd, '.env'), 'FROM_DOTENV=/srv/e\n');
    assert.equal((await daemonPlaces(context(cwd, env), file)).stateDir, '/srv/e', 'the .env changed');
    assert.equal((await daemonPlaces(context(cwd, { ...env, CLAUDE_EXT_STATE_DIR: '/srv/f' }), file)).stateDir, '/srv/f');
  });
});

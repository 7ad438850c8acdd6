import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../../../core/config/config.ts';
import { parseDuration, parseSize } from '../../../../core/config/config-values.ts';
import { parseEnvFile } from '../../../../core/config/env-file.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function configDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const env = { HOME: '/home/tester' };

describe('config', () => {
  test('no file at all gives the embedded defaults', () => {
    const dir = configDir({});
    const loaded = loadConfig({ cwd: dir, env });
    assert.equal(loaded.file, undefined);
    assert.equal(loaded.config.state_dir, '/home/tester/.claude-ext');
    assert.equal(loaded.config.sessions.max_per_user, 8);
    assert.equal(loaded.config.sessions.idle_timeout, 30 * 60_000);
    assert.equal(loaded.config.engine.interrupt_grace, 10_000);
    assert.equal(loaded.config.logs.max_bytes, 10 * 1024 * 1024);
    assert.deepEqual(loaded.config.extensions_dirs, ['/home/tester/.claude-ext/extensions']);
    assert.deepEqual(loaded.warnings, []);
  });

  test('sandbox and sessions.roots: paths resolved, the default root is default_cwd, a wrong mode names the key', () => {
    const dir = configDir({
      'config.yaml': 'sessions:\n  default_cwd: ~/work\n  roots:\n    alice: [~/alice, ./rel]\nsandbox:\n  mode: bwrap\n  readable: [~/docs]\n  hidden: [/run/docker.sock]\n',
      'bad.yaml': 'sandbox:\n  mode: firejail\n',
    });
    const { config } = loadConfig({ cwd: dir, env });
    assert.deepEqual(config.sessions.roots, { default: ['/home/tester/work'], alice: ['/home/tester/alice', path.join(dir, 'rel')] });
    assert.deepEqual(config.sandbox, { mode: 'bwrap', readable: ['/home/tester/docs'], writable: [], hidden: ['/run/docker.sock'] });
    assert.equal(loadConfig({ cwd: dir, env: { HOME: '/h' }, configPath: path.join(dir, 'config.yaml') }).config.sandbox.readable[0], '/h/docs');
    assert.equal(loadConfig({ cwd: configDir({}), env }).config.sandbox.mode, null, 'unset: the machine decides');
    assert.throws(() => loadConfig({ cwd: dir, env, configPath: path.join(dir, 'bad.yaml') }), (error: Error) => error instanceof ConfigError && /sandbox\.mode/.test(error.message) && /bad\.yaml:2/.test(error.message));
  });

  test('./config.yaml is found; --config wins over it; relative paths are relative to the file', () => {
    const dir = configDir({ 'config.yaml': 'state_dir: ./here\n', 'other.yaml': 'state_dir: there\n' });
    assert.equal(loadConfig({ cwd: dir, env }).config.state_dir, path.join(dir, 'here'));
    assert.equal(loadConfig({ cwd: '/', env, configPath: path.join(dir, 'other.yaml') }).config.state_dir, path.join(dir, 'there'));
  });

  test('durations and sizes in human units', () => {
    const dir = configDir({ 'config.yaml': 'sessions:\n  idle_timeout: 1h30m\n  prompt_timeout: 90\nengine:\n  interrupt_grace: 500ms\nlogs:\n  max_bytes: 2MiB\n' });
    const { config } = loadConfig({ cwd: dir, env });
    assert.equal(config.sessions.idle_timeout, 90 * 60_000);
    assert.equal(config.sessions.prompt_timeout, 90_000);
    assert.equal(config.engine.interrupt_grace, 500);
    assert.equal(config.logs.max_bytes, 2 * 1024 * 1024);
    assert.equal(parseDuration('2d'), 2 * 86_400_000);
    assert.equal(parseDuration('10 minutes'), undefined);
    assert.equal(parseDuration('m5'), undefined);
    assert.equal(parseSize('512KB'), 512_000);
    assert.equal(parseSize('12 parsecs'), undefined);
  });

  test('${VAR} comes from the environment, then .env; defaults; $${ is literal; types follow the value', () => {
    const dir = configDir({
      'config.yaml': [
        'state_dir: ${STATE}',
        'sessions:',
        '  max_per_user: ${LIMIT}',
        '  default_cwd: "${WORK:-/srv/work}"',
        'engine:',
        '  model: "$${NOT_A_VAR}"',
        '  env:',
        '    FROM_DOTENV: ${DOTENV_ONLY}',
        '    BOTH: ${BOTH}',
        '',
      ].join('\n'),
      '.env': '# comment\nexport LIMIT=3\nDOTENV_ONLY="line\\nbreak"\nBOTH=from-file\nSTATE=/tmp/x # trailing\n',
    });
    const loaded = loadConfig({ cwd: dir, env: { ...env, BOTH: 'from-process' } });
    assert.equal(loaded.config.state_dir, '/tmp/x');
    assert.equal(loaded.config.sessions.max_per_user, 3);
    assert.equal(loaded.config.sessions.default_cwd, '/srv/work');
    assert.equal(loaded.config.engine.model, '${NOT_A_VAR}');
    assert.deepEqual(loaded.config.engine.env, { FROM_DOTENV: 'line\nbreak', BOTH: 'from-process' });
    assert.equal(loaded.env.LIMIT, '3');
  });

  test('a value cannot inject YAML structure', () => {
    const dir = configDir({ 'config.yaml': 'engine:\n  model: ${EVIL}\n' });
    const { config } = loadConfig({ cwd: dir, env: { ...env, EVIL: 'x\nlog_level: debug' } });
    assert.equal(config.engine.model, 'x\nlog_level: debug');
    assert.equal(config.log_level, 'info');
  });

  test('an unset variable warns with its line; ${VAR:?} makes it required', () => {
    const dir = configDir({ 'config.yaml': 'engine:\n  model: ${MISSING}\n', 'req.yaml': 'log_level: info\nengine:\n  model: ${MISSING:?set the model}\n' });
    const loaded = loadConfig({ cwd: dir, env });
    assert.equal(loaded.config.engine.model, null);
    assert.match(loaded.warnings.join('\n'), /config\.yaml:2: engine\.model: environment variable MISSING is not set/);
    assert.throws(() => loadConfig({ cwd: dir, env, configPath: 'req.yaml' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /req\.yaml:3: engine\.model: MISSING: set the model/);
      return true;
    });
  });

  test('invalid YAML names the file and the line', () => {
    const dir = configDir({ 'config.yaml': 'log_level: info\nsessions:\n  max_per_user: [1, 2\n  idle_timeout: 5m\n' });
    assert.throws(() => loadConfig({ cwd: dir, env }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /config\.yaml:\d+: invalid YAML/);
      assert.ok(error.line !== undefined && error.line >= 3);
      return true;
    });
  });

  test('a duplicate key is an error', () => {
    const dir = configDir({ 'config.yaml': 'log_level: info\nlog_level: debug\n' });
    assert.throws(() => loadConfig({ cwd: dir, env }), /config\.yaml:2: invalid YAML/);
  });

  test('a wrong type names the file, the line and the key', () => {
    const dir = configDir({ 'config.yaml': 'log_level: info\n\nsessions:\n  default_cwd: /tmp\n  max_per_user: lots\n' });
    assert.throws(() => loadConfig({ cwd: dir, env }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.line, 5);
      assert.equal(error.key, 'sessions.max_per_user');
      assert.match(error.message, /^.*config\.yaml:5: sessions\.max_per_user: /);
      return true;
    });
    const bad = configDir({ 'config.yaml': 'engine:\n  permission_mode: yolo\n' });
    assert.throws(() => loadConfig({ cwd: bad, env }), /config\.yaml:2: engine\.permission_mode: /);
    const duration = configDir({ 'config.yaml': 'sessions:\n  idle_timeout: soon\n' });
    assert.throws(() => loadConfig({ cwd: duration, env }), /config\.yaml:2: sessions\.idle_timeout: expected a duration/);
  });

  test('approve mode, per user too, and the approvals timeout (10 minutes unless set)', () => {
    const defaults = loadConfig({ cwd: configDir({ 'config.yaml': 'log_level: info\n' }), env }).config;
    assert.equal(defaults.approvals.timeout, 600_000);
    assert.deepEqual(defaults.engine.user_permission_modes, {});
    const dir = configDir({ 'config.yaml': 'engine:\n  permission_mode: approve\n  user_permission_modes:\n    bot: bypassPermissions\napprovals:\n  timeout: 90s\n' });
    const { config } = loadConfig({ cwd: dir, env });
    assert.equal(config.engine.permission_mode, 'approve');
    assert.deepEqual(config.engine.user_permission_modes, { bot: 'bypassPermissions' });
    assert.equal(config.approvals.timeout, 90_000);
    const bad = configDir({ 'config.yaml': 'engine:\n  user_permission_modes:\n    bob: ask\n' });
    assert.throws(() => loadConfig({ cwd: bad, env }), /config\.yaml:3: engine\.user_permission_modes\.bob: /);
  });

  test('an unknown key is a warning with its line, and the rest still loads', () => {
    const dir = configDir({ 'config.yaml': 'log_level: debug\nsesions:\n  max_per_user: 2\nengine:\n  modle: x\n' });
    const loaded = loadConfig({ cwd: dir, env });
    assert.equal(loaded.config.log_level, 'debug');
    assert.equal(loaded.warnings.length, 2);
    assert.match(loaded.warnings[0] ?? '', /config\.yaml:2: unknown key sesions/);
    assert.match(loaded.warnings[1] ?? '', /config\.yaml:5: unknown key engine\.modle/);
  });

  test('CLAUDE_EXT_STATE_DIR overrides state_dir and the default extensions dir follows it', () => {
    const dir = configDir({ 'config.yaml': 'state_dir: /var/nowhere\n' });
    const { config } = loadConfig({ cwd: dir, env: { ...env, CLAUDE_EXT_STATE_DIR: '/tmp/override' } });
    assert.equal(config.state_dir, '/tmp/override');
    assert.deepEqual(config.extensions_dirs, ['/tmp/override/extensions']);
  });

  test('locate() points at a key for messages about extension sections', () => {
    const dir = configDir({ 'config.yaml': 'enabled: [demo]\nextensions:\n  demo:\n    port: nine\n' });
    const loaded = loadConfig({ cwd: dir, env });
    assert.equal(loaded.locate(['extensions', 'demo', 'port']), `${path.join(dir, 'config.yaml')}:4`);
  });

  test('a missing --config file is a clear error', () => {
    assert.throws(() => loadConfig({ cwd: '/', env, configPath: '/nonexistent/config.yaml' }), /\/nonexistent\/config\.yaml: cannot read the configuration: ENOENT/);
  });

  test('config.yaml.example loads without warnings', () => {
    const loaded = loadConfig({ cwd: ROOT, env, configPath: 'config.yaml.example' });
    assert.deepEqual(loaded.warnings, []);
  });

  test('.env parsing', () => {
    assert.deepEqual(parseEnvFile("A=1\nexport B='x y # z'\nC=\"q\\\"uote\"\n bad line\nD=plain # comment\n"), { A: '1', B: 'x y # z', C: 'q"uote', D: 'plain' });
  });
});

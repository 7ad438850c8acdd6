import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { usage } from '../../../../core/cli/builtin-command.ts';
import { BUILTIN_COMMANDS } from '../../../../core/cli/builtin-commands.ts';
import { runCli } from '../../../../core/cli/run-cli.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/**
 * A state dir with a config.yaml naming it, and extensions/ holding, besides the project's own:
 * - `broken`, whose cli module throws as soon as it is loaded;
 * - `twin`, with a command `twin` and a command `solo`;
 * - `alpha` (searched before `twin`), with a command also called `twin`.
 */
function stateDirWithExtensions(extensions: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'run-cli-'));
  roots.push(root);
  fs.writeFileSync(path.join(root, 'config.yaml'), `state_dir: ${root}\n`);
  for (const [name, source] of Object.entries(extensions)) {
    const dir = path.join(root, 'extensions', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'extension.mjs'), `export default () => ({ name: '${name}', start() {} });\n`);
    fs.writeFileSync(path.join(dir, 'cli.mjs'), `${source}\n`);
  }
  return root;
}

const EXTENSIONS: Record<string, string> = {
  broken: `throw new Error('the broken cli module was loaded');`,
  twin: `export const commands = [
    { name: 'twin', usage: 'twin     the twin extension', run: async (ctx) => { ctx.out('twin of twin ' + ctx.args.join(',') + '\\n'); return 0; } },
    { name: 'solo', usage: 'solo     only twin has it', run: async (ctx) => { ctx.out('solo\\n'); return 3; } },
  ];`,
  alpha: `export const commands = [{ name: 'twin', usage: 'twin     alpha has one too', run: async (ctx) => { ctx.out('twin of alpha\\n'); return 0; } }];`,
};

/** Runs the CLI in `dir` with `dir` as the state dir (and its config.yaml only when --config names it). */
async function run(argv: string[], dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli({
    argv,
    cwd: path.join(dir, 'extensions'),
    env: { HOME: dir, CLAUDE_EXT_STATE_DIR: dir },
    output: { out: (text) => void (stdout += text), err: (text) => void (stderr += text) },
    stdin: async () => '',
  });
  return { code, stdout, stderr };
}

describe('the CLI', () => {
  const stateDir = stateDirWithExtensions(EXTENSIONS);
  const config = path.join(stateDir, 'config.yaml');

  test('help lists every built-in command and names the extensions with commands without loading them', async () => {
    const help = await run(['help'], stateDir);
    assert.equal(help.code, 0, help.stderr);
    for (const command of BUILTIN_COMMANDS) assert.ok(help.stdout.includes(`  ${command.usage}\n`), command.name);
    assert.ok(help.stdout.includes(`  ${usage('usage [--user U] [--days N] [--fresh] [--json]', 'subscription limits used (5h, 7d) and costs per day and user')}\n`), 'usage is listed');
    assert.match(help.stdout, /Extensions with commands \(`claude-ext help EXTENSION` lists them\):\n {2}ask_user {2}cron {2}heartbeat {2}memory {2}session_ask {2}subagent {2}vault {2}web {2}alpha {2}broken {2}twin\n$/);
  });

  test('without a command it prints the help and fails', async () => {
    const bare = await run([], stateDir);
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /^claude-ext — /);
  });

  test('help NAME lists the commands of an extension, named by itself or by one of its commands', async () => {
    for (const name of ['twin', 'solo']) {
      const help = await run(['help', name], stateDir);
      assert.equal(help.code, 0, help.stderr);
      assert.equal(help.stdout, 'Commands of the twin extension:\n  twin     the twin extension\n  solo     only twin has it\n');
    }
    const builtin = await run(['--help', 'sessions'], stateDir);
    assert.equal(builtin.stdout, `  ${usage('sessions [--user U] [--json]', 'list sessions')}\n`);
    const unknown = await run(['help', 'nothing'], stateDirWithExtensions({}));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no command or extension called "nothing"/);
  });

  test('an extension command runs from the extension of its name first, else from the first that has it', async () => {
    const twin = await run(['twin', 'a', `--config=${config}`, 'b'], stateDir);
    assert.deepEqual([twin.code, twin.stdout, twin.stderr], [0, 'twin of twin a,b\n', '']);
    const solo = await run(['solo', '--config', config], stateDir);
    assert.deepEqual([solo.code, solo.stdout, solo.stderr], [3, 'solo\n', '']);
  });

  test('a command no extension has is a usage error, unless a cli module that might have it failed to load', async () => {
    const unknown = await run(['frobnicate'], stateDirWithExtensions({}));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const broken = await run(['frobnicate'], stateDir);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /the broken cli module was loaded/);
  });

  test('help entries put the summary in its column, or on the next line after a long synopsis', () => {
    assert.equal(usage('reload', 'again'), `reload${' '.repeat(36)}again`);
    assert.equal(usage('x'.repeat(42), 'long'), `${'x'.repeat(42)}\n${' '.repeat(44)}long`);
  });
});

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseSandbox, SandboxUnavailableError, type SandboxSetup } from '../../../../../core/sessions/sandbox/sandbox-setup.ts';
import { findBwrap } from '../../../../../core/sessions/sandbox/bwrap-probe.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-setup-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const emptyPath = fs.mkdtempSync(path.join(root, 'bin-'));

function setup(mode: SandboxSetup['mode'], searchPath: string): SandboxSetup {
  return {
    mode,
    searchPath,
    packageRoot: root,
    claudePath: '/usr/bin/true',
    extensionDirs: () => [],
    stateDir: path.join(root, 'state'),
    daemonHome: path.join(root, 'home'),
    claudeConfigDir: path.join(root, 'home', '.claude'),
    settings: () => ({ readable: [], writable: [], hidden: [] }),
    templatePaths: () => undefined,
    secretFiles: () => [],
    otherUsersDirs: () => [],
    exposedFiles: () => [],
  };
}

describe('choosing the sandbox', () => {
  test('none: unconfined, with a warning that says so', async () => {
    const choice = await chooseSandbox(setup('none', process.env.PATH ?? ''));
    assert.equal(choice.sandbox.mode, 'none');
    assert.match(choice.warning ?? '', /sessions are not isolated/);
  });

  test('unset and bubblewrap missing: unconfined, the warning says how to install it', async () => {
    const choice = await chooseSandbox(setup(null, emptyPath));
    assert.equal(choice.sandbox.mode, 'none');
    assert.match(choice.warning ?? '', /not installed.*apt-get install bubblewrap/);
  });

  test('bwrap configured but missing: the daemon does not start', async () => {
    await assert.rejects(chooseSandbox(setup('bwrap', emptyPath)), (error: Error) => error instanceof SandboxUnavailableError && /sandbox\.mode is bwrap but bubblewrap \(bwrap\) is not installed/.test(error.message));
  });

  test('bwrap where it works: each prepared launch starts with bwrap and gets the user HOME', { skip: findBwrap(process.env.PATH) ? false : 'bubblewrap is not installed' }, async () => {
    const choice = await chooseSandbox(setup(null, process.env.PATH ?? ''));
    if (choice.sandbox.mode === 'none') return; // namespaces forbidden here: covered by the warning above
    const cwd = fs.mkdtempSync(path.join(root, 'work-'));
    const launch = choice.sandbox.prepare({ id: 's1', user: 'alice', cwd });
    assert.match(launch.prefix[0] ?? '', /bwrap$/);
    assert.equal(launch.env.HOME, path.join(root, 'state', 'users', 'alice', 'home'));
    assert.equal(launch.env.CLAUDE_CONFIG_DIR, null);
    assert.ok(fs.statSync(path.join(root, 'state', 'users', 'alice', 'home')).isDirectory());
    assert.equal(fs.statSync(path.join(root, 'state', 'users', 'alice', 'home')).mode & 0o077, 0, 'private');
  });
});

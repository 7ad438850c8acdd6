import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bwrapArguments, isWithin, mountPlan, type MountStep, type SandboxPaths } from '../../../../../core/sessions/sandbox/mount-plan.ts';

const base: SandboxPaths = {
  stateDir: '/home/d/.claude-ext',
  daemonHome: '/home/d',
  cwd: '/srv/alice/project',
  userHome: '/home/d/.claude-ext/users/alice/home',
  userTmp: '/home/d/.claude-ext/users/alice/tmp',
  runtime: ['/home/d/.nvm/versions/node/v20', '/usr'],
  readable: [],
  writable: [],
  hidden: [],
  secretFiles: ['/home/d/.config/claude-ext/config.yaml'],
  otherUsers: [],
  exposedFiles: ['/home/d/.claude-ext/sessions/s1/mcp.json', '/home/d/.claude-ext/daemon.sock'],
};

/** Where a path ends up after the plan: the last mount whose target holds it decides (a later mount on an ancestor covers earlier ones below it). */
function fate(steps: readonly MountStep[], p: string): string {
  let result = 'read-only (the root)';
  for (const step of steps) {
    const target = step.kind === 'read-only' || step.kind === 'read-write' ? (step.target ?? step.path) : step.path;
    if (isWithin(p, target)) result = step.kind;
  }
  return result;
}

describe('mountPlan', () => {
  test('hides the daemon HOME, the state dir and the config; binds the cwd and the user HOME read-write', () => {
    const steps = mountPlan({ ...base, cwd: '/home/d' });
    assert.equal(fate(steps, '/home/d/.claude-ext/admin.token'), 'hide');
    assert.equal(fate(steps, '/home/d/project/file'), 'read-write');
    assert.equal(fate(steps, '/home/d/.config/claude-ext/config.yaml'), 'hide-file');
    assert.equal(fate(steps, '/home/d/.claude-ext/users/alice/home/.claude'), 'read-write');
    assert.equal(fate(steps, '/home/d/.claude-ext/sessions/s1/mcp.json'), 'read-only');
    assert.equal(fate(steps, '/home/d/.claude-ext/sessions/s2/mcp.json'), 'hide');
  });

  test('brings back runtime paths under the hidden HOME, and leaves visible ones alone', () => {
    const steps = mountPlan(base);
    assert.equal(fate(steps, '/home/d/.nvm/versions/node/v20/bin/node'), 'read-only');
    assert.equal(fate(steps, '/home/d/.ssh/id_ed25519'), 'hide');
    assert.ok(!steps.some((step) => step.path === '/usr'), 'no mount for what is visible anyway');
  });

  test("another user's directory is hidden, also when it holds this session's own", () => {
    const inside = mountPlan({ ...base, cwd: '/srv/alice/project', otherUsers: ['/srv/alice/project/bob-part', '/srv/bob'] });
    assert.equal(fate(inside, '/srv/alice/project/bob-part/secret'), 'hide');
    assert.equal(fate(inside, '/srv/bob/secret'), 'hide');
    assert.equal(fate(inside, '/srv/alice/project/mine'), 'read-write');
    const around = mountPlan({ ...base, cwd: '/srv/shared/alice', otherUsers: ['/srv/shared'] });
    assert.equal(fate(around, '/srv/shared/bob-notes'), 'hide');
    assert.equal(fate(around, '/srv/shared/alice/notes'), 'read-write');
  });

  test("another user in the same directory changes nothing: the plan is the same as without them", () => {
    assert.deepEqual(mountPlan({ ...base, otherUsers: [base.cwd, `${base.cwd}/`] }), mountPlan(base));
  });

  test('configured readable and writable paths win over the hidden HOME, hidden ones over everything', () => {
    const steps = mountPlan({ ...base, readable: ['/home/d/docs'], writable: ['/home/d/out'], hidden: ['/srv/alice/project/private'] });
    assert.equal(fate(steps, '/home/d/docs/a'), 'read-only');
    assert.equal(fate(steps, '/home/d/out/a'), 'read-write');
    assert.equal(fate(steps, '/srv/alice/project/private/key'), 'hide');
  });

  test('a writable path outside every hidden one is bound read-write, also around the working directory', () => {
    const steps = mountPlan({ ...base, cwd: '/srv/alice/repo/.git/subagent-worktrees/w1', writable: ['/srv/alice/repo/.git'] });
    assert.equal(fate(steps, '/srv/alice/repo/.git/objects/ab'), 'read-write');
    assert.equal(fate(steps, '/srv/alice/repo/.git/subagent-worktrees/w1/file'), 'read-write');
    assert.equal(fate(steps, '/srv/alice/repo/file'), 'read-only (the root)');
  });

  test('a hide that is already out of sight is left out', () => {
    const steps = mountPlan({ ...base, cwd: '/srv/alice/project' });
    assert.ok(!steps.some((step) => step.kind === 'hide' && step.path === base.stateDir), 'the state dir is under the hidden HOME already');
    assert.ok(!steps.some((step) => step.kind === 'hide-file'), 'so is the config file');
  });

  test('the credentials are bound into the user HOME', () => {
    const steps = mountPlan({ ...base, credentials: { source: '/home/d/.claude/.credentials.json', target: '/home/d/.claude-ext/users/alice/home/.claude/.credentials.json' } });
    const bind = steps.find((step) => step.kind === 'read-write' && step.path === '/home/d/.claude/.credentials.json');
    assert.equal(bind?.kind === 'read-write' ? bind.target : undefined, '/home/d/.claude-ext/users/alice/home/.claude/.credentials.json');
    assert.ok(steps.indexOf(bind as MountStep) > steps.findIndex((step) => step.path === base.userHome), 'after the HOME it lands in');
  });
});

describe('bwrapArguments', () => {
  test('new PID and IPC namespaces, its own /proc, dies with its parent, a new session; the network stays', () => {
    const args = bwrapArguments(mountPlan(base), base.cwd);
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--die-with-parent', '--new-session']) assert.ok(args.includes(flag), flag);
    assert.ok(!args.some((arg) => arg.startsWith('--unshare-net') || arg === '--unshare-all'));
    assert.deepEqual(args.slice(args.indexOf('--proc'), args.indexOf('--proc') + 2), ['--proc', '/proc']);
    assert.deepEqual(args.slice(-3), ['--chdir', base.cwd, '--']);
    assert.deepEqual(args.slice(0, 3), ['--ro-bind', '/', '/']);
  });

  test('each step becomes its bubblewrap option', () => {
    const args = bwrapArguments(
      [
        { kind: 'hide', path: '/a' },
        { kind: 'hide-file', path: '/a/f' },
        { kind: 'read-only', path: '/b' },
        { kind: 'read-write', path: '/c', target: '/tmp' },
      ],
      '/c',
    );
    const joined = args.join(' ');
    assert.match(joined, /--tmpfs \/a --ro-bind \/dev\/null \/a\/f --ro-bind \/b \/b --bind \/c \/tmp/);
  });
});

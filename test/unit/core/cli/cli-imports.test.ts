import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-imports-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every URL the module loader resolved while the command ran. */
  readonly modules: readonly string[];
}

let runCount = 0;

/** Runs `claude-ext ARGS` from the sources in a directory without config.yaml, with no daemon to reach. */
function runRecorded(args: readonly string[]): Run {
  const record = path.join(work, `modules-${runCount++}.txt`);
  const child = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(path.join(ROOT, 'bin/register-hooks.mjs')).href, '--import', pathToFileURL(path.join(ROOT, 'test/support/record-resolved-modules.mjs')).href, path.join(ROOT, 'main.ts'), ...args],
    {
      cwd: work,
      env: { ...process.env, HOME: work, CLAUDE_EXT_STATE_DIR: path.join(work, 'state'), RECORD_RESOLVED_MODULES_TO: record },
      input: '',
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const modules = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\n').filter(Boolean) : [];
  return { code: child.status, stdout: child.stdout, stderr: child.stderr, modules };
}

/** A loaded module by its package (`zod`) or its path in the project (`extensions/cron/cli.ts`). */
function shortName(url: string): string {
  const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inPackage) return inPackage[1] as string;
  return url.startsWith(pathToFileURL(ROOT).href) ? path.relative(ROOT, fileURLToPath(url)) : url;
}

/** The distinct short names of the modules a run loaded that match. */
function loaded(run: Run, matches: (name: string) => boolean): string[] {
  return [...new Set(run.modules.map(shortName))].filter(matches).sort();
}

/** What the daemon needs and a command that only talks to it must not load. */
function daemonOnly(name: string): boolean {
  return ['grammy', '@grammyjs/auto-retry', 'better-sqlite3', '@modelcontextprotocol/sdk'].includes(name) || name.startsWith('extensions/');
}

const config = path.join(work, 'elsewhere.yaml');
fs.writeFileSync(config, `state_dir: ${path.join(work, 'state')}\n`);

const cases: readonly { label: string; args: readonly string[]; code: number; output: RegExp }[] = [
  { label: 'help', args: ['help'], code: 0, output: /Usage: claude-ext <command>/ },
  { label: 'status', args: ['status'], code: 1, output: /the daemon is not running/ },
  { label: 'prompt', args: ['prompt', 'hello'], code: 1, output: /the daemon is not running/ },
  { label: 'wait', args: ['wait', '--session', 'nothing'], code: 1, output: /the daemon is not running/ },
  { label: 'status --config FILE', args: ['status', '--config', config], code: 1, output: /the daemon is not running/ },
];

describe('what a CLI command loads', () => {
  const runs = new Map<string, Run>();
  before(() => {
    for (const { label, args } of cases) runs.set(label, runRecorded(args));
  });

  for (const { label, args, code, output } of cases) {
    test(`${label} loads neither the daemon's dependencies nor extension code`, () => {
      const run = runs.get(label) as Run;
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stdout + run.stderr, output);
      assert.ok(loaded(run, (module) => module === 'core/cli/render.ts').length === 1, 'the recorder saw the CLI load');
      assert.deepEqual(loaded(run, daemonOnly), []);
    });

    if (args.includes('--config')) {
      test(`${label} reads the file without loading the config schema, and the next run not even the YAML parser`, () => {
        const run = runs.get(label) as Run;
        assert.ok(loaded(run, (module) => module === 'yaml').length > 0, 'the file was read');
        assert.deepEqual(loaded(run, (module) => ['zod', 'execa', 'core/daemon.ts'].includes(module)), []);
        const again = runRecorded(args);
        assert.equal(again.code, code, again.stderr);
        assert.deepEqual(loaded(again, (module) => ['yaml', 'zod', 'execa', 'core/daemon.ts'].includes(module)), [], 'the location was remembered');
      });
      continue;
    }
    test(`${label} loads neither the config schema, execa nor the daemon when no config file applies`, () => {
      const run = runs.get(label) as Run;
      assert.deepEqual(loaded(run, (module) => ['zod', 'yaml', 'execa', 'core/daemon.ts'].includes(module)), []);
    });
  }

  test('an extension command loads its own extension cli module and no other', () => {
    const run = runRecorded(['cron', 'list']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /the daemon is not running/);
    const extensionModules = loaded(run, (name) => name.startsWith('extensions/'));
    assert.ok(extensionModules.includes('extensions/cron/cli.ts'), extensionModules.join('\n'));
    assert.deepEqual(extensionModules.filter((name) => !name.startsWith('extensions/cron/')), []);
  });
});

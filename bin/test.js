#!/usr/bin/env node
// Runs the unit tests, then the end-to-end tests, with Node's test runner.
// Usage: node bin/test.js [unit|e2e|FILE...]
// Unit tests run the TypeScript sources (through tsx); end-to-end tests drive the built daemon and CLI
// in dist/, which is built first when they are to run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every `*.test.ts` under a folder, sub-folders included, in a stable order. */
function testsIn(dir) {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.test.ts'))
    .sort()
    .map((file) => path.join(dir, file));
}

/** End-to-end tests each drive real CLI processes: two at a time fit a two-core machine. */
const CONCURRENCY = { unit: 4, e2e: 2 };

/** `npm run build`: compiles what changed since the last build into dist/ (nothing when nothing did), then bundles the CLI and copies the dashboard's files. */
function build() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' }).status === 0;
  const step = (script) => spawnSync(process.execPath, [path.join(root, script)], { cwd: root, stdio: 'inherit' }).status === 0;
  return compiled && step('scripts/bundle-cli.mjs') && step('scripts/copy-assets.mjs');
}

const args = process.argv.slice(2);
const suites = args.length === 0 ? ['unit', 'e2e'] : args;
const unitOnly = suites.every((suite) => suite === 'unit' || path.resolve(root, suite).startsWith(path.join(root, 'test/unit', path.sep)));
if (!unitOnly && !build()) {
  console.error('the build failed: the end-to-end tests need dist/');
  process.exit(1);
}
let failed = false;
for (const suite of suites) {
  const files = suite === 'unit' || suite === 'e2e' ? testsIn(`test/${suite}`) : [suite];
  if (files.length === 0) continue;
  const concurrency = CONCURRENCY[suite] ?? 2;
  const result = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', new URL('./register-hooks.mjs', import.meta.url).href, '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);

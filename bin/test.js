#!/usr/bin/env node
// Runs the unit tests, then the end-to-end tests, with Node's test runner and tsx.
// Usage: node bin/test.js [unit|e2e|FILE...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testsIn = (dir) =>
  fs.existsSync(path.join(root, dir))
    ? fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(dir, f))
    : [];

const args = process.argv.slice(2);
const suites = args.length === 0 ? ['unit', 'e2e'] : args;
let failed = false;
for (const suite of suites) {
  const files = suite === 'unit' || suite === 'e2e' ? testsIn(`test/${suite}`) : [suite];
  if (files.length === 0) continue;
  const concurrency = suite === 'e2e' ? '2' : '2';
  const result = spawnSync(
    process.execPath,
    ['--import', new URL('./register-hooks.mjs', import.meta.url).href, '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);

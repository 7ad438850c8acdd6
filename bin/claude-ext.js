#!/usr/bin/env node
// The installed command runs the JavaScript that `npm install` builds into dist/.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`claude-ext: ${fileURLToPath(main)} is missing: run npm install (or npm run build) in ${root}\n`);
  process.exit(1);
}
await import(main.href);

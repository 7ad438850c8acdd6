// Copies the files tsc does not emit (the web dashboard's HTML, JavaScript and CSS) into dist/,
// next to the modules that serve them. Part of `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ASSET_DIRS = ['extensions/web/static'];

for (const dir of ASSET_DIRS) {
  const target = path.join(root, 'dist', dir);
  fs.rmSync(target, { recursive: true, force: true });
  fs.cpSync(path.join(root, dir), target, { recursive: true });
}

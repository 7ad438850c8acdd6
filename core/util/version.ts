import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.ts';

export function packageVersion(): string {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

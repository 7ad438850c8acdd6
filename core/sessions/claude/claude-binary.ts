import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

export interface ClaudeBinary {
  readonly path: string;
  readonly source: 'config' | 'PATH' | 'dependency';
}

/** `engine.claude_path`, else `claude` on PATH, else the CLI installed with this package. */
export function findClaudeBinary(configured: string | null, envPath: string | undefined): ClaudeBinary | undefined {
  if (configured) return { path: configured, source: 'config' };
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'claude');
    if (isExecutable(candidate)) return { path: candidate, source: 'PATH' };
  }
  const bundled = bundledClaude();
  return bundled ? { path: bundled, source: 'dependency' } : undefined;
}

function bundledClaude(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const manifestPath = require.resolve('@anthropic-ai/claude-code/package.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { bin?: string | Record<string, string> };
    const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.claude;
    if (!bin) return undefined;
    const candidate = path.join(path.dirname(manifestPath), bin);
    return isExecutable(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

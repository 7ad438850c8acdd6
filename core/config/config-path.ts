import fs from 'node:fs';
import path from 'node:path';

export interface LoadOptions {
  /** `--config FILE`; without it `./config.yaml` when present, else the embedded defaults. */
  readonly configPath?: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Which config file a command uses: `--config`, else ./config.yaml when it exists, else none. */
export function resolveConfigPath(options: LoadOptions): string | undefined {
  if (options.configPath) return path.resolve(options.cwd, options.configPath);
  const local = path.join(options.cwd, 'config.yaml');
  return fs.existsSync(local) ? local : undefined;
}

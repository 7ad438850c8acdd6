import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from 'claude-ext/extension';
import { createFileExclusive } from './store.ts';

/**
 * Where the vault's passphrase comes from, first match wins: the environment variable, the configured
 * passphrase file, or a passphrase generated once into `<dataDir>/passphrase`.
 */

export const PASSPHRASE_ENV = 'CLAUDE_EXT_VAULT_PASSPHRASE';

export interface PassphraseSources {
  env: Readonly<Record<string, string | undefined>>;
  /** The configured passphrase file, if any. */
  passphraseFile?: string;
  /** The extension's data directory, where a generated passphrase is kept. */
  dataDir: string;
}

export interface ResolvedPassphrase {
  passphrase: string;
  source: 'env' | 'file' | 'generated';
  /** The file the passphrase was read from or generated into. */
  file?: string;
  /** Set when the generated file was created by this call: tell the user to keep a copy. */
  created?: boolean;
  /** Something the caller should log, e.g. a passphrase file other users can read. */
  warning?: string;
}

export function generatedPassphrasePath(dataDir: string): string {
  return path.join(dataDir, 'passphrase');
}

export function resolvePassphrase({ env, passphraseFile, dataDir }: PassphraseSources): ResolvedPassphrase {
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new Error(`${PASSPHRASE_ENV} is set but empty: set it to the vault passphrase, or unset it`);
    return { passphrase: fromEnv, source: 'env' };
  }
  if (passphraseFile !== undefined) {
    if (passphraseFile === '') throw new Error('the vault passphrase file is configured as an empty path: give a file, or remove the setting');
    return { ...readPassphraseFile(passphraseFile), source: 'file', file: passphraseFile };
  }
  return loadOrGeneratePassphrase(generatedPassphrasePath(dataDir));
}

function loadOrGeneratePassphrase(file: string): ResolvedPassphrase {
  ensurePrivateDir(path.dirname(file));
  const fresh = crypto.randomBytes(32).toString('base64url');
  if (createFileExclusive(file, `${fresh}\n`)) return { passphrase: fresh, source: 'generated', file, created: true };
  return { ...readPassphraseFile(file), source: 'generated', file, created: false };
}

/** The file's content without trailing line breaks; throws naming the file when unreadable or empty. */
function readPassphraseFile(file: string): { passphrase: string; warning?: string } {
  let text: string;
  let mode: number;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      mode = fs.fstatSync(fd).mode;
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`cannot read the vault passphrase file ${file} (${code}): create it with the passphrase, readable by the daemon's user`, { cause: error });
  }
  const passphrase = text.replace(/[\r\n]+$/, '');
  if (passphrase === '') throw new Error(`the vault passphrase file ${file} is empty: write the passphrase in it`);
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    return { passphrase, warning: `the vault passphrase file ${file} can be read by other users (mode ${octal}): run chmod 600 ${file}` };
  }
  return { passphrase };
}

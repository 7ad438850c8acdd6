import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { ensurePrivateDir, writeFileAtomic } from 'claude-ext/extension';
import { validateKey, validateTags, validateUser, validateValue } from './keys.ts';

/**
 * The vault: every user's credentials in one file, encrypted with nacl.secretbox under a key derived
 * from a passphrase with scrypt. The header (format, version, scrypt parameters and salt, nonce) is
 * plain JSON so the parameters can be raised later; everything else, keys and tags included, is
 * inside the box. Each change re-encrypts under a fresh nonce and replaces the file atomically.
 */

export const VAULT_FORMAT = 'claude-ext-vault';
export const VAULT_VERSION = 1;

/** scrypt cost parameters a caller may choose; the salt is always fresh. */
export interface KdfOptions {
  N?: number;
  r?: number;
  p?: number;
  /** Bytes scrypt may use; derived from N, r and p when absent. */
  maxmem?: number;
}

/** The scrypt parameters as recorded in the file's header. */
export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  maxmem?: number;
  /** base64 */
  salt: string;
}

export const DEFAULT_KDF: Readonly<Required<Omit<KdfOptions, 'maxmem'>>> = { N: 2 ** 15, r: 8, p: 1 };

/** What `list` shows of a credential: everything but its value. */
export interface VaultEntry {
  key: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export interface VaultOpenOptions {
  /** scrypt parameters for a vault created by this call; an existing file's header decides for itself. */
  kdf?: KdfOptions;
  /** The clock for createdAt/updatedAt (tests). */
  now?: () => Date;
}

interface VaultFile {
  format: typeof VAULT_FORMAT;
  version: typeof VAULT_VERSION;
  kdf: KdfParams;
  nonce: string;
  box: string;
}

interface StoredEntry {
  value: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

type Users = Map<string, Map<string, StoredEntry>>;

const KEY_BYTES = nacl.secretbox.keyLength;
const SALT_BYTES = 16;
const MIN_N = 2 ** 10;
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_KDF_MEMORY = 1024 * 1024 * 1024;

export class WrongPassphraseError extends Error {
  readonly code = 'vault_wrong_passphrase';
  constructor(readonly file: string) {
    super(
      `cannot decrypt the vault ${file}: wrong passphrase (or the file was altered). Give the passphrase it was created with ` +
        `(CLAUDE_EXT_VAULT_PASSPHRASE or the configured passphrase file); the file was left untouched`,
    );
    this.name = 'WrongPassphraseError';
  }
}

export class VaultFormatError extends Error {
  readonly code = 'vault_format';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read the vault ${file}: ${reason}. The file was left untouched; restore it from a backup, or move it away to start an empty vault`);
    this.name = 'VaultFormatError';
  }
}

export class VaultConflictError extends Error {
  readonly code = 'vault_conflict';
  constructor(readonly file: string) {
    super(`the vault ${file} was changed or removed by another writer since this process read it; nothing was written. Reopen the vault and retry`);
    this.name = 'VaultConflictError';
  }
}

export class VaultStore {
  private closed = false;

  private constructor(
    readonly file: string,
    private key: Uint8Array,
    private kdf: KdfParams,
    private users: Users,
    /** The bytes this store last read or wrote: a write refuses to replace anything else. */
    private onDisk: Buffer,
    private readonly now: () => Date,
  ) {}

  /**
   * Opens the vault at `file`, creating an empty one (0600, durably) when there is none. Throws
   * WrongPassphraseError or VaultFormatError without touching an existing file.
   */
  static open(file: string, passphrase: string, options: VaultOpenOptions = {}): VaultStore {
    checkPassphrase(passphrase);
    const now = options.now ?? (() => new Date());
    const existing = readVaultBytes(file);
    if (existing !== undefined) return VaultStore.decrypt(file, existing, passphrase, now);

    const kdf = newKdfParams(options.kdf);
    const key = deriveKey(passphrase, kdf);
    const users: Users = new Map();
    const bytes = seal(users, key, kdf);
    ensurePrivateDir(path.dirname(file));
    if (createFileExclusive(file, bytes)) return new VaultStore(file, key, kdf, users, bytes, now);
    // Another opener created it between our read and our create: theirs stands.
    key.fill(0);
    const created = readVaultBytes(file);
    if (created === undefined) throw new VaultConflictError(file);
    return VaultStore.decrypt(file, created, passphrase, now);
  }

  private static decrypt(file: string, bytes: Buffer, passphrase: string, now: () => Date): VaultStore {
    const header = parseHeader(file, bytes);
    let key: Uint8Array;
    try {
      key = deriveKey(passphrase, header.kdf);
    } catch (error) {
      throw new VaultFormatError(file, `scrypt failed with the header's parameters (${(error as Error).message})`);
    }
    const plaintext = nacl.secretbox.open(header.box, header.nonce, key);
    if (plaintext === null) {
      key.fill(0);
      throw new WrongPassphraseError(file);
    }
    try {
      return new VaultStore(file, key, header.kdf, parsePayload(file, plaintext), bytes, now);
    } finally {
      plaintext.fill(0);
    }
  }

  /** The scrypt parameters the file is written with. */
  get kdfParams(): { N: number; r: number; p: number; maxmem?: number } {
    const { N, r, p, maxmem } = this.kdf;
    return maxmem === undefined ? { N, r, p } : { N, r, p, maxmem };
  }

  /** Stores a credential. Without `tags`, an existing credential keeps its tags. */
  set(user: string, key: string, value: string, tags?: readonly string[]): void {
    this.assertOpen();
    validateUser(user);
    validateKey(key);
    validateValue(value);
    const cleanTags = tags === undefined ? undefined : validateTags(tags);
    const time = this.now().toISOString();
    const entries = new Map(this.users.get(user));
    const previous = entries.get(key);
    entries.set(key, {
      value,
      tags: cleanTags ?? previous?.tags ?? [],
      createdAt: previous?.createdAt ?? time,
      updatedAt: time,
    });
    const users = new Map(this.users);
    users.set(user, entries);
    this.commit(users, this.key, this.kdf);
  }

  /** Removes a credential; false when there was none (nothing is written then). */
  delete(user: string, key: string): boolean {
    this.assertOpen();
    const current = this.users.get(user);
    if (current === undefined || !current.has(key)) return false;
    const entries = new Map(current);
    entries.delete(key);
    const users = new Map(this.users);
    if (entries.size === 0) users.delete(user);
    else users.set(user, entries);
    this.commit(users, this.key, this.kdf);
    return true;
  }

  get(user: string, key: string): string | undefined {
    this.assertOpen();
    return this.users.get(user)?.get(key)?.value;
  }

  /** A user's credentials without their values, sorted by key; only those carrying `tag` when given. */
  /** Every user who keeps something in the vault. */
  userIds(): string[] {
    this.assertOpen();
    return [...this.users.keys()].sort();
  }

  list(user: string, tag?: string): VaultEntry[] {
    this.assertOpen();
    const entries = [...(this.users.get(user) ?? new Map<string, StoredEntry>())];
    return entries
      .filter(([, entry]) => tag === undefined || entry.tags.includes(tag))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => ({ key, tags: [...entry.tags], createdAt: entry.createdAt, updatedAt: entry.updatedAt }));
  }

  /** Every distinct secret value (of one user, or of all), longest first, so a redactor replaces longer ones first. */
  values(user?: string): string[] {
    this.assertOpen();
    const maps = user === undefined ? [...this.users.values()] : [this.users.get(user) ?? new Map<string, StoredEntry>()];
    const values = new Set<string>();
    for (const entries of maps) for (const entry of entries.values()) values.add(entry.value);
    return [...values].sort((a, b) => b.length - a.length);
  }

  /**
   * Re-encrypts the vault under a new passphrase with a fresh salt; `kdf` raises (or changes) the
   * scrypt parameters, which otherwise stay as they are.
   */
  rekey(newPassphrase: string, kdf: KdfOptions = {}): void {
    this.assertOpen();
    checkPassphrase(newPassphrase);
    const params = newKdfParams({ N: kdf.N ?? this.kdf.N, r: kdf.r ?? this.kdf.r, p: kdf.p ?? this.kdf.p, maxmem: kdf.maxmem });
    const key = deriveKey(newPassphrase, params);
    const old = this.key;
    try {
      this.commit(this.users, key, params);
    } catch (error) {
      key.fill(0);
      throw error;
    }
    old.fill(0);
  }

  /** Forgets the key and the decrypted credentials; the store cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.key.fill(0);
    this.users = new Map();
  }

  /** Writes the new state, then adopts it; when the write fails, the store and the file stay as they were. */
  private commit(users: Users, key: Uint8Array, kdf: KdfParams): void {
    const current = readVaultBytes(this.file);
    if (current === undefined || !current.equals(this.onDisk)) throw new VaultConflictError(this.file);
    const bytes = seal(users, key, kdf);
    writeFileAtomic(this.file, bytes, { durable: true });
    fsyncDirectory(path.dirname(this.file));
    this.users = users;
    this.key = key;
    this.kdf = kdf;
    this.onDisk = bytes;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the vault ${this.file} is closed`);
  }
}

function checkPassphrase(passphrase: unknown): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new Error('the vault passphrase must be a non-empty string');
}

/** Fresh parameters (new salt) from options over the defaults; throws when they are out of range. */
function newKdfParams(options: KdfOptions = {}): KdfParams {
  const N = options.N ?? DEFAULT_KDF.N;
  const r = options.r ?? DEFAULT_KDF.r;
  const p = options.p ?? DEFAULT_KDF.p;
  const problem = kdfProblem(N, r, p, options.maxmem);
  if (problem !== undefined) throw new Error(`invalid scrypt parameters for the vault: ${problem}`);
  const params: KdfParams = { name: 'scrypt', N, r, p, salt: crypto.randomBytes(SALT_BYTES).toString('base64') };
  if (options.maxmem !== undefined) params.maxmem = options.maxmem;
  return params;
}

/** The memory scrypt needs for these parameters, as OpenSSL counts it. */
function scryptMemory(N: number, r: number, p: number): number {
  return 128 * r * (N + 2 + p);
}

function kdfProblem(N: unknown, r: unknown, p: unknown, maxmem: unknown): string | undefined {
  if (!Number.isSafeInteger(N) || (N as number) < MIN_N || (N as number) > MAX_N || ((N as number) & ((N as number) - 1)) !== 0) {
    return `N must be a power of two from 2^10 to 2^20`;
  }
  if (!Number.isSafeInteger(r) || (r as number) < 1 || (r as number) > MAX_R) return `r must be an integer from 1 to ${MAX_R}`;
  if (!Number.isSafeInteger(p) || (p as number) < 1 || (p as number) > MAX_P) return `p must be an integer from 1 to ${MAX_P}`;
  const needed = scryptMemory(N as number, r as number, p as number);
  if (needed > MAX_KDF_MEMORY) return `N and r together need ${needed} bytes, more than ${MAX_KDF_MEMORY}`;
  if (maxmem !== undefined && (!Number.isSafeInteger(maxmem) || (maxmem as number) < needed || (maxmem as number) > 2 * MAX_KDF_MEMORY)) {
    return `maxmem must be an integer from ${needed} (what N, r and p need) to ${2 * MAX_KDF_MEMORY}`;
  }
  return undefined;
}

function deriveKey(passphrase: string, kdf: KdfParams): Uint8Array {
  const { N, r, p } = kdf;
  const maxmem = kdf.maxmem ?? scryptMemory(N, r, p) + 1024 * 1024;
  return crypto.scryptSync(passphrase, Buffer.from(kdf.salt, 'base64'), KEY_BYTES, { N, r, p, maxmem });
}

function seal(users: Users, key: Uint8Array, kdf: KdfParams): Buffer {
  const plain = Object.fromEntries([...users].map(([user, entries]) => [user, Object.fromEntries(entries)]));
  const plaintext = Buffer.from(JSON.stringify({ users: plain }), 'utf8');
  const nonce = crypto.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(plaintext, nonce, key);
  plaintext.fill(0);
  const file: VaultFile = {
    format: VAULT_FORMAT,
    version: VAULT_VERSION,
    kdf,
    nonce: nonce.toString('base64'),
    box: Buffer.from(box).toString('base64'),
  };
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
}

function parseHeader(file: string, bytes: Buffer): { kdf: KdfParams; nonce: Uint8Array; box: Uint8Array } {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new VaultFormatError(file, bytes.length === 0 ? 'the file is empty' : 'the file is not JSON');
  }
  if (!isRecord(data) || data.format !== VAULT_FORMAT) throw new VaultFormatError(file, `it is not a claude-ext vault (no "format": "${VAULT_FORMAT}")`);
  if (data.version !== VAULT_VERSION) {
    throw new VaultFormatError(file, `vault version ${JSON.stringify(data.version)} is not supported (this claude-ext reads version ${VAULT_VERSION}); upgrade claude-ext`);
  }
  const kdf = data.kdf;
  if (!isRecord(kdf) || kdf.name !== 'scrypt') throw new VaultFormatError(file, 'its "kdf" is not scrypt');
  const problem = kdfProblem(kdf.N, kdf.r, kdf.p, kdf.maxmem);
  if (problem !== undefined) throw new VaultFormatError(file, `its scrypt parameters are unusable: ${problem}`);
  const salt = decodeBase64(file, kdf.salt, 'kdf.salt');
  if (salt.length < SALT_BYTES) throw new VaultFormatError(file, `its salt is ${salt.length} bytes, fewer than ${SALT_BYTES}`);
  const nonce = decodeBase64(file, data.nonce, 'nonce');
  if (nonce.length !== nacl.secretbox.nonceLength) throw new VaultFormatError(file, `its nonce is ${nonce.length} bytes, not ${nacl.secretbox.nonceLength}`);
  const box = decodeBase64(file, data.box, 'box');
  if (box.length < nacl.secretbox.overheadLength) throw new VaultFormatError(file, 'its box is truncated');
  const params: KdfParams = { name: 'scrypt', N: kdf.N as number, r: kdf.r as number, p: kdf.p as number, salt: kdf.salt as string };
  if (kdf.maxmem !== undefined) params.maxmem = kdf.maxmem as number;
  return { kdf: params, nonce, box };
}

function decodeBase64(file: string, text: unknown, field: string): Buffer {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new VaultFormatError(file, `its "${field}" is not base64`);
  }
  return Buffer.from(text, 'base64');
}

/** The decrypted payload; messages name what is malformed, never what it holds. */
function parsePayload(file: string, plaintext: Uint8Array): Users {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length).toString('utf8'));
  } catch {
    throw new VaultFormatError(file, 'the decrypted content is not JSON');
  }
  if (!isRecord(data) || !isRecord(data.users)) throw new VaultFormatError(file, 'the decrypted content has no "users"');
  const users: Users = new Map();
  for (const [user, entries] of Object.entries(data.users)) {
    if (!isRecord(entries)) throw new VaultFormatError(file, 'the credentials of a user are not an object');
    const map = new Map<string, StoredEntry>();
    for (const [key, entry] of Object.entries(entries)) {
      if (
        !isRecord(entry) ||
        typeof entry.value !== 'string' ||
        !Array.isArray(entry.tags) ||
        !entry.tags.every((tag) => typeof tag === 'string') ||
        typeof entry.createdAt !== 'string' ||
        typeof entry.updatedAt !== 'string'
      ) {
        throw new VaultFormatError(file, `the credential ${JSON.stringify(key)} of user ${JSON.stringify(user)} is malformed`);
      }
      map.set(key, { value: entry.value, tags: [...(entry.tags as string[])], createdAt: entry.createdAt, updatedAt: entry.updatedAt });
    }
    if (map.size > 0) users.set(user, map);
  }
  return users;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The file's bytes, or undefined when it does not exist; other failures name the file. */
function readVaultBytes(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new Error(`cannot read the vault ${file}: ${errnoCode(error) ?? (error as Error).message}`, { cause: error });
  }
}

/** Flushes a directory entry change (a rename, a new file) to disk, where the platform allows it. */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EBADF'].includes(errnoCode(error) ?? '')) throw error;
  } finally {
    fs.closeSync(fd);
  }
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Creates `file` (0600) with `data`, durably, only if it does not exist: false when it does. The data
 * is written to a temporary file first and hard-linked into place, so the file never appears partial.
 */
export function createFileExclusive(file: string, data: string | Uint8Array): boolean {
  const temp = `${file}.new-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  try {
    writeDurably(temp, data);
    try {
      fs.linkSync(temp, file);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') return false;
      if (!NO_HARD_LINKS.has(errnoCode(error) ?? '')) throw error;
      // No hard links on this filesystem: create in place (a crash here can leave a partial file).
      try {
        writeDurably(file, data);
      } catch (fallbackError) {
        if (errnoCode(fallbackError) === 'EEXIST') return false;
        throw fallbackError;
      }
    }
  } finally {
    fs.rmSync(temp, { force: true });
  }
  fsyncDirectory(path.dirname(file));
  return true;
}

/** Creates `file` 0600 (failing with EEXIST when it exists) and writes `data` to disk; removes it when the write fails. */
function writeDurably(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

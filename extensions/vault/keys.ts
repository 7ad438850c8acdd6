/**
 * What the vault accepts as a key, a tag and a user. Messages never repeat the rejected text: a
 * caller who swapped key and value would otherwise see the secret in a log line.
 */

export const KEY_FORM = 'service/name, such as github/token';

const MIN_SEGMENTS = 2;
const MAX_SEGMENTS = 8;
const MAX_SEGMENT_LENGTH = 64;
const MAX_KEY_LENGTH = 200;
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;

const TAG = /^[a-z0-9_-]{1,32}$/;
const MAX_TAGS = 16;

const MAX_USER_LENGTH = 128;
const MAX_VALUE_BYTES = 64 * 1024;

export class InvalidVaultKeyError extends Error {
  readonly code = 'invalid_vault_key';
  constructor(readonly reason: string) {
    super(`invalid vault key: ${reason}; expected ${KEY_FORM} (2 to 8 segments of letters, digits, '.', '_' or '-', each 1 to 64 characters, at most ${MAX_KEY_LENGTH} in all)`);
    this.name = 'InvalidVaultKeyError';
  }
}

/** Returns the key when it is a valid `service/name` path; throws InvalidVaultKeyError otherwise. */
export function validateKey(key: unknown): string {
  if (typeof key !== 'string') throw new InvalidVaultKeyError(`it is a ${typeof key}, not a string`);
  if (key.length > MAX_KEY_LENGTH) throw new InvalidVaultKeyError(`it is ${key.length} characters long`);
  if (key.includes('..')) throw new InvalidVaultKeyError(`it contains '..'`);
  const segments = key.split('/');
  if (segments.length < MIN_SEGMENTS || segments.length > MAX_SEGMENTS) {
    throw new InvalidVaultKeyError(`it has ${segments.length} segment${segments.length === 1 ? '' : 's'}`);
  }
  segments.forEach((segment, index) => {
    const which = `segment ${index + 1}`;
    if (segment === '') throw new InvalidVaultKeyError(`${which} is empty`);
    if (segment === '.') throw new InvalidVaultKeyError(`${which} is '.'`);
    if (segment.length > MAX_SEGMENT_LENGTH) throw new InvalidVaultKeyError(`${which} is ${segment.length} characters long`);
    if (!SEGMENT_CHARS.test(segment)) throw new InvalidVaultKeyError(`${which} contains a character other than a letter, a digit, '.', '_' or '-'`);
  });
  return key;
}

/** Returns the tags deduplicated, in the order given; throws when one is malformed or there are too many. */
export function validateTags(tags: readonly unknown[]): string[] {
  const unique = [...new Set(tags)];
  unique.forEach((tag, index) => {
    if (typeof tag !== 'string' || !TAG.test(tag)) {
      throw new Error(`invalid vault tag (number ${index + 1}): expected 1 to 32 of a-z, 0-9, '_' or '-', such as ci or personal`);
    }
  });
  if (unique.length > MAX_TAGS) throw new Error(`too many vault tags: ${unique.length}, at most ${MAX_TAGS}`);
  return unique as string[];
}

/** Returns the user id when usable as a vault owner: 1 to 128 characters, no control characters. */
export function validateUser(user: unknown): string {
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH || /[\u0000-\u001f\u007f]/.test(user)) {
    throw new Error(`invalid vault user: expected 1 to ${MAX_USER_LENGTH} characters without control characters`);
  }
  return user;
}

/** Returns the value when storable: a non-empty string of at most 64 KiB. The message never includes it. */
export function validateValue(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`invalid vault value: expected a string, got a ${typeof value}`);
  if (value.length === 0) throw new Error('invalid vault value: it is empty');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_VALUE_BYTES) throw new Error(`invalid vault value: ${bytes} bytes, at most ${MAX_VALUE_BYTES}`);
  return value;
}

import crypto from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** A short random id with a readable prefix, e.g. `s_7kq2m9xa`. */
export function newId(prefix: string, length = 10): string {
  const bytes = crypto.randomBytes(length);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${id}`;
}

export function newConversationId(): string {
  return crypto.randomUUID();
}

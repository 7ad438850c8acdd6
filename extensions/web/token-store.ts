import crypto from 'node:crypto';
import path from 'node:path';
import { newId, readJsonFile, writeJsonAtomic } from 'claude-ext/extension';

/** A user's API token as kept on disk: never the token itself, only its SHA-256. */
export interface StoredToken {
  readonly id: string;
  readonly user: string;
  readonly name: string;
  readonly hash: string;
  readonly createdAt: string;
}

/** What a listing shows: everything but the hash. */
export type TokenInfo = Omit<StoredToken, 'hash'>;

const PREFIX = 'cxt';

const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

/** Per-user API tokens, `cxt_<id>_<secret>`, kept hashed in one JSON file replaced whole on each change. */
export class TokenStore {
  readonly file: string;
  private tokens: StoredToken[];

  constructor(dir: string) {
    this.file = path.join(dir, 'tokens.json');
    const saved = readJsonFile<{ version: number; tokens: StoredToken[] }>(this.file);
    if (saved !== undefined && (saved.version !== 1 || !Array.isArray(saved.tokens))) throw new Error(`${this.file} is not a version 1 token file; repair or remove it`);
    this.tokens = saved?.tokens ?? [];
  }

  /** Makes a token for a user; the secret is returned once and never kept. */
  create(user: string, name: string | undefined): TokenInfo & { token: string } {
    const id = newId('t');
    const token = `${PREFIX}_${id}_${crypto.randomBytes(24).toString('base64url')}`;
    const stored: StoredToken = { id, user, name: name ?? id, hash: sha256(token), createdAt: new Date().toISOString() };
    this.save([...this.tokens, stored]);
    return { ...info(stored), token };
  }

  list(user?: string): TokenInfo[] {
    return this.tokens.filter((t) => user === undefined || t.user === user).map(info);
  }

  /** Revokes by id or name (of that user, when one is given); false when nothing matched. */
  revoke(ref: string, user?: string): TokenInfo | undefined {
    const found = this.tokens.find((t) => (t.id === ref || t.name === ref) && (user === undefined || t.user === user));
    if (!found) return undefined;
    this.save(this.tokens.filter((t) => t !== found));
    return info(found);
  }

  /** The token's owner when the presented text is a live token; compared by hash in constant time. */
  verify(presented: string): TokenInfo | undefined {
    const match = /^cxt_([A-Za-z0-9_-]+?)_[A-Za-z0-9_-]{32}$/.exec(presented);
    if (!match) return undefined;
    const stored = this.tokens.find((t) => t.id === match[1]);
    if (!stored) return undefined;
    const a = Buffer.from(sha256(presented), 'hex');
    const b = Buffer.from(stored.hash, 'hex');
    return a.length === b.length && crypto.timingSafeEqual(a, b) ? info(stored) : undefined;
  }

  private save(tokens: StoredToken[]): void {
    writeJsonAtomic(this.file, { version: 1, tokens }, { durable: true });
    this.tokens = tokens;
  }
}

function info(token: StoredToken): TokenInfo {
  return { id: token.id, user: token.user, name: token.name, createdAt: token.createdAt };
}

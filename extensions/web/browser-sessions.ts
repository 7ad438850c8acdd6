import crypto from 'node:crypto';
import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from 'claude-ext/extension';
import type { Principal } from './api.ts';

/** A browser's login as kept on disk: hashes of its cookie and CSRF token, never the values. */
interface StoredLogin {
  readonly cookieHash: string;
  readonly csrfHash: string;
  readonly principal: Principal;
  /** For the admin: the admin credential's fingerprint at login, so a renewed credential ends the login. */
  readonly adminFingerprint?: string;
  /** Epoch milliseconds. */
  readonly expires: number;
}

export type Login = Omit<StoredLogin, 'cookieHash'>;

const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

/** Whether `presented` hashes to `hash`, compared in constant time. */
export function matchesHash(presented: string, hash: string): boolean {
  const a = Buffer.from(sha256(presented), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * Browsers' logins, kept in `logins.json` (0600, replaced whole on each change) so a restart of the
 * daemon does not log anyone out. Only SHA-256 hashes of the cookie and the CSRF token are kept, so
 * the file cannot be used to log in; expired logins are dropped as they are met and at each login.
 */
export class BrowserSessions {
  readonly file: string;
  private logins: StoredLogin[];

  constructor(
    dir: string,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.file = path.join(dir, 'logins.json');
    const saved = readJsonFile<{ version: number; logins: StoredLogin[] }>(this.file);
    if (saved !== undefined && (saved.version !== 1 || !Array.isArray(saved.logins))) throw new Error(`${this.file} is not a version 1 login file; remove it (everyone logs in again)`);
    this.logins = saved?.logins ?? [];
  }

  /** A new login: the cookie's value and the CSRF token, returned once. */
  create(principal: Principal, adminFingerprint?: string): { cookie: string; csrf: string } {
    const cookie = crypto.randomBytes(32).toString('base64url');
    const csrf = crypto.randomBytes(32).toString('base64url');
    const login: StoredLogin = { cookieHash: sha256(cookie), csrfHash: sha256(csrf), principal, ...(adminFingerprint ? { adminFingerprint } : {}), expires: this.now() + this.lifetimeMs };
    this.save([...this.logins.filter((l) => l.expires > this.now()), login]);
    return { cookie, csrf };
  }

  /** The live login of a cookie's value; an expired one is dropped. */
  find(cookie: string): Login | undefined {
    const hash = sha256(cookie);
    const found = this.logins.find((l) => l.cookieHash === hash);
    if (!found) return undefined;
    if (found.expires <= this.now()) {
      this.remove(cookie);
      return undefined;
    }
    const { cookieHash: _hash, ...login } = found;
    return login;
  }

  remove(cookie: string): void {
    const hash = sha256(cookie);
    if (this.logins.some((l) => l.cookieHash === hash)) this.save(this.logins.filter((l) => l.cookieHash !== hash));
  }

  private save(logins: StoredLogin[]): void {
    writeJsonAtomic(this.file, { version: 1, logins }, { durable: true });
    this.logins = logins;
  }
}

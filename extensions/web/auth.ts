/** Who a request comes from: the admin token, a user's API token, or a browser session cookie with its CSRF token. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HttpError, type Principal } from './api.ts';
import type { TokenStore } from './token-store.ts';

export const COOKIE = 'claude_ext_web';
const BROWSER_SESSION_MS = 12 * 3600_000;

const equal = (a: string, b: string): boolean => {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
};

interface BrowserSession {
  readonly principal: Principal;
  readonly csrf: string;
  readonly expires: number;
}

export class Authenticator {
  private readonly browser = new Map<string, BrowserSession>();

  constructor(
    private readonly stateDir: string,
    private readonly tokens: TokenStore,
  ) {}

  /** The principal of a bearer token, or undefined. The admin token is read from the state dir each time (it may be renewed). */
  ofToken(token: string): Principal | undefined {
    let admin: string | undefined;
    try {
      admin = fs.readFileSync(path.join(this.stateDir, 'admin.token'), 'utf8').trim();
    } catch {
      admin = undefined;
    }
    if (admin && equal(token, admin)) return { kind: 'admin' };
    const info = this.tokens.verify(token);
    return info ? { kind: 'user', user: info.user, tokenId: info.id } : undefined;
  }

  /** Who sent the request; throws 401 without a valid credential and 403 for a browser write without its CSRF token. */
  authenticate(method: string, headers: Readonly<Record<string, string | string[] | undefined>>): Principal {
    const authorization = headers.authorization;
    if (typeof authorization === 'string') {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      const principal = match ? this.ofToken(match[1]!) : undefined;
      if (!principal) throw new HttpError(401, 'unauthorized', 'the bearer token is not valid');
      return principal;
    }
    const id = cookieValue(headers.cookie, COOKIE);
    const session = id !== undefined ? this.browser.get(id) : undefined;
    if (!session || session.expires < Date.now()) {
      if (id !== undefined) this.browser.delete(id);
      throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <token>, or log in at POST /api/login');
    }
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) {
      const csrf = headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !equal(csrf, session.csrf)) throw new HttpError(403, 'csrf', 'a browser request that changes something needs the X-CSRF-Token header from login');
    }
    return session.principal;
  }

  /** Exchanges a token for a browser session: the cookie's value and the CSRF token to send with writes. */
  login(token: string): { cookie: string; csrf: string; principal: Principal } {
    const principal = this.ofToken(token);
    if (!principal) throw new HttpError(401, 'unauthorized', 'the token is not valid');
    for (const [id, s] of this.browser) if (s.expires < Date.now()) this.browser.delete(id);
    const cookie = crypto.randomBytes(32).toString('base64url');
    const csrf = crypto.randomBytes(32).toString('base64url');
    this.browser.set(cookie, { principal, csrf, expires: Date.now() + BROWSER_SESSION_MS });
    return { cookie, csrf, principal };
  }

  logout(headers: Readonly<Record<string, string | string[] | undefined>>): void {
    const id = cookieValue(headers.cookie, COOKIE);
    if (id !== undefined) this.browser.delete(id);
  }

  static cookieHeader(value: string, secure: boolean): string {
    const maxAge = value ? BROWSER_SESSION_MS / 1000 : 0;
    return `${COOKIE}=${value}; Path=/api; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  }
}

function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** Who a request comes from: the admin token, a user's API token, or a browser's login cookie with its CSRF token. */
import crypto from 'node:crypto';
import type { AdminCredential } from 'claude-ext/extension';
import { HttpError, type Principal } from './api.ts';
import { matchesHash, type BrowserSessions } from './browser-sessions.ts';
import type { TokenStore } from './token-store.ts';

export const COOKIE = 'claude_ext_web';
export const BROWSER_SESSION_MS = 12 * 3600_000;

const equal = (a: string, b: string): boolean => {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
};

export class Authenticator {
  constructor(
    private readonly admin: AdminCredential,
    private readonly tokens: TokenStore,
    private readonly logins: BrowserSessions,
  ) {}

  /** The principal of a bearer token, or undefined. */
  ofToken(token: string): Principal | undefined {
    if (this.admin.matches(token)) return { kind: 'admin' };
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
    const cookie = cookieValue(headers.cookie, COOKIE);
    const login = cookie !== undefined ? this.logins.find(cookie) : undefined;
    if (!login || !this.stillValid(login.principal, login.adminFingerprint)) {
      if (cookie !== undefined) this.logins.remove(cookie);
      throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <token>, or log in at POST /api/login');
    }
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) {
      const csrf = headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !matchesHash(csrf, login.csrfHash)) throw new HttpError(403, 'csrf', 'a browser request that changes something needs the X-CSRF-Token header from login');
    }
    return login.principal;
  }

  /** A login ends with the token it was made with: a revoked API token, a renewed admin token. */
  private stillValid(principal: Principal, adminFingerprint: string | undefined): boolean {
    if (principal.kind === 'user') return this.tokens.list(principal.user).some((t) => t.id === principal.tokenId);
    return adminFingerprint !== undefined && this.admin.fingerprint !== '' && equal(adminFingerprint, this.admin.fingerprint);
  }

  /** Exchanges a token for a browser login: the cookie's value and the CSRF token to send with writes. */
  login(token: string): { cookie: string; csrf: string; principal: Principal } {
    const principal = this.ofToken(token);
    if (!principal) throw new HttpError(401, 'unauthorized', 'the token is not valid');
    const { cookie, csrf } = this.logins.create(principal, principal.kind === 'admin' ? this.admin.fingerprint : undefined);
    return { cookie, csrf, principal };
  }

  logout(headers: Readonly<Record<string, string | string[] | undefined>>): void {
    const cookie = cookieValue(headers.cookie, COOKIE);
    if (cookie !== undefined) this.logins.remove(cookie);
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

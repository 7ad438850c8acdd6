import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/files.ts';
import { adminTokenPath } from './admin-token.ts';

export { adminTokenPath, readAdminToken } from './admin-token.ts';

export function loadOrCreateAdminToken(stateDir: string): string {
  return loadOrCreateSecret(adminTokenPath(stateDir));
}

/** Where a session credential may be presented. */
export type TokenChannel = 'mcp' | 'bridge';

/** What a valid session credential stands for. */
export interface SessionGrant {
  readonly sessionId: string;
  readonly extension: string;
  readonly channel: TokenChannel;
}

/**
 * Session credentials: `<session id>.<extension>.<channel>.<HMAC of the three>` under a key kept in
 * the state dir. One per session and extension, so a token reaches only its own extension's
 * methods; `mcp` tokens open the daemon's HTTP tool endpoint, `bridge` tokens the Unix socket (for
 * stdio servers). They survive a daemon restart (a running CLI keeps its tokens) and die with the
 * session, because the daemon accepts one only while the session exists.
 */
export class SessionTokens {
  private readonly key: Buffer;

  constructor(stateDir: string) {
    this.key = Buffer.from(loadOrCreateSecret(path.join(stateDir, 'bridge.key')), 'base64url');
  }

  issue(grant: SessionGrant): string {
    return `${grant.sessionId}.${grant.extension}.${grant.channel}.${this.mac(grant)}`;
  }

  /** What a token was issued for, or undefined for anything forged or malformed. */
  verify(token: string): SessionGrant | undefined {
    const parts = token.split('.');
    if (parts.length !== 4) return undefined;
    const [sessionId, extension, channel, mac] = parts as [string, string, string, string];
    if (!sessionId || !extension || (channel !== 'mcp' && channel !== 'bridge')) return undefined;
    const grant: SessionGrant = { sessionId, extension, channel };
    const given = Buffer.from(mac);
    const expected = Buffer.from(this.mac(grant));
    return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? grant : undefined;
  }

  private mac(grant: SessionGrant): string {
    return crypto.createHmac('sha256', this.key).update(`session:${grant.sessionId}:${grant.extension}:${grant.channel}`).digest('base64url');
  }
}

/** The admin credential as an extension may use it: checked, never handed out. */
export interface AdminCredential {
  /** Whether `presented` is the admin credential, compared in constant time. */
  matches(presented: string): boolean;
  /** A one-way fingerprint: it changes when the credential does (a new one at a daemon start) and tells nothing of it. */
  readonly fingerprint: string;
}

export function adminCredential(token: string): AdminCredential {
  return {
    matches: (presented) => secretsEqual(presented, token),
    fingerprint: crypto.createHash('sha256').update(`claude-ext admin credential fingerprint\0${token}`).digest('hex'),
  };
}

/** For a daemon part without an admin credential (tests): nothing matches it. */
export const NO_ADMIN_CREDENTIAL: AdminCredential = { matches: () => false, fingerprint: '' };

/** Whether two secrets are equal, in constant time. */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

function loadOrCreateSecret(file: string): string {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // created below
  }
  const secret = crypto.randomBytes(32).toString('base64url');
  writeFileAtomic(file, `${secret}\n`, { durable: true });
  return secret;
}

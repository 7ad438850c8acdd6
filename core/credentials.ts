import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './files.ts';

/** The admin credential the CLI presents, kept 0600 in the state dir. */
export function adminTokenPath(stateDir: string): string {
  return path.join(stateDir, 'admin.token');
}

export function loadOrCreateAdminToken(stateDir: string): string {
  return loadOrCreateSecret(adminTokenPath(stateDir));
}

/** Reads the admin credential for a client; says clearly why when it cannot. */
export function readAdminToken(stateDir: string): string {
  const file = adminTokenPath(stateDir);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new Error(`cannot read the admin credential ${file}: run claude-ext as the user the daemon runs as`);
    throw new Error(`no admin credential at ${file}: is the daemon running with this state dir?`);
  }
}

/**
 * Session credentials for the bridge: `<session id>.<HMAC of the id>` under a key kept in the state
 * dir. They survive a daemon restart (a running MCP server keeps its token) and die with the session,
 * because the daemon accepts one only while the session exists.
 */
export class SessionTokens {
  private readonly key: Buffer;

  constructor(stateDir: string) {
    this.key = Buffer.from(loadOrCreateSecret(path.join(stateDir, 'bridge.key')), 'base64url');
  }

  issue(sessionId: string): string {
    return `${sessionId}.${this.mac(sessionId)}`;
  }

  /** The session id a token was issued for, or undefined for anything forged or malformed. */
  verify(token: string): string | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const sessionId = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(sessionId));
    return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? sessionId : undefined;
  }

  private mac(sessionId: string): string {
    return crypto.createHmac('sha256', this.key).update(`session:${sessionId}`).digest('base64url');
  }
}

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

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/files.ts';

/** A server a session was given: whose it is, and which of its tools it may not call (`*`: all). */
export interface ServerGrant {
  readonly owner: string;
  readonly denied: readonly string[];
}

/** The MCP servers a session was given, by server name. */
export type SessionToolGrants = Readonly<Record<string, ServerGrant>>;

const FILE = 'tool-grants.json';

/**
 * What each session may reach, as its last launch was composed: the servers its template and
 * overrides left it, minus the tools they disallow. The MCP endpoint and the bridge enforce it, so a
 * session that reads its own tokens still reaches nothing more than its CLI offers it.
 * Kept in the session's directory as well, so a restarted daemon enforces the same grants.
 */
export class ToolGrants {
  private readonly bySession = new Map<string, { text: string; grants: SessionToolGrants }>();

  constructor(private readonly sessionDir: (sessionId: string) => string) {}

  record(sessionId: string, grants: SessionToolGrants): void {
    const text = `${JSON.stringify(grants)}\n`;
    if (this.bySession.get(sessionId)?.text === text) return;
    writeFileAtomic(path.join(this.sessionDir(sessionId), FILE), text);
    this.bySession.set(sessionId, { text, grants });
  }

  /** The session's grant for a server, or undefined when the server was not given to it. */
  get(sessionId: string, server: string): ServerGrant | undefined {
    return this.load(sessionId)?.[server];
  }

  /** Whether the session was given any server of the extension (what its bridge token is good for). */
  hasExtension(sessionId: string, extension: string): boolean {
    return Object.values(this.load(sessionId) ?? {}).some((grant) => grant.owner === extension);
  }

  private load(sessionId: string): SessionToolGrants | undefined {
    const known = this.bySession.get(sessionId);
    if (known) return known.grants;
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.sessionDir(sessionId), FILE), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const grants = JSON.parse(text) as SessionToolGrants;
      this.bySession.set(sessionId, { text, grants });
      return grants;
    } catch {
      return undefined;
    }
  }
}

/** Tools of `server` that `--disallowedTools` rules remove: `mcp__S` and `mcp__S__*` remove all. */
export function deniedTools(server: string, disallowed: readonly string[]): string[] {
  const prefix = `mcp__${server}`;
  const denied: string[] = [];
  for (const rule of disallowed) {
    if (rule === prefix || rule === `${prefix}__*`) return ['*'];
    if (rule.startsWith(`${prefix}__`)) denied.push(rule.slice(prefix.length + 2));
  }
  return denied;
}

export function isDenied(grant: ServerGrant, tool: string): boolean {
  return grant.denied.includes('*') || grant.denied.includes(tool);
}

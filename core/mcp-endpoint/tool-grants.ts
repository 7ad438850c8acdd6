import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../files.ts';

/** Which of a server's tools a session may not call; `*` stands for all of them. */
export interface ServerGrant {
  readonly denied: readonly string[];
}

/** The daemon-served MCP servers a session was given, by server name. */
export type SessionToolGrants = Readonly<Record<string, ServerGrant>>;

const FILE = 'tool-grants.json';

/**
 * What each session may reach on the daemon's MCP endpoint, as its last launch was composed: the
 * servers its template and overrides left it, minus the tools they disallow. The endpoint enforces
 * it, so a session that reads its own token still reaches nothing more than its CLI offers it.
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

/**
 * What a session's MCP servers and the daemon agree on: the environment each server gets and the
 * authentication call that opens every bridge connection.
 */

/** Environment variables every MCP server of a session receives. */
export const BRIDGE_ENV = {
  sessionId: 'CLAUDE_EXT_SESSION_ID',
  userId: 'CLAUDE_EXT_USER_ID',
  stateDir: 'CLAUDE_EXT_STATE_DIR',
  socket: 'CLAUDE_EXT_BRIDGE_SOCKET',
  token: 'CLAUDE_EXT_BRIDGE_TOKEN',
  /** "1" when the server should expose one `{action, params}` tool instead of one tool per command. */
  gateway: 'CLAUDE_EXT_GATEWAY',
} as const;

/** The first call on a bridge connection: `{"method":"auth","params":{"token":...}}` answers the principal. */
export const AUTH_METHOD = 'auth';

/** Who a connection acts for, derived only from its credential. */
export type Principal =
  | { readonly kind: 'admin' }
  /** A session acting through one extension's tools: it reaches only that extension's methods. */
  | { readonly kind: 'session'; readonly sessionId: string; readonly user: string; readonly extension: string }
  /** Only for `public` methods: a connection that did not authenticate. */
  | { readonly kind: 'anonymous' };

/**
 * Who may call a method: `session` only a session through the tools of the extension that owns the
 * method (the handler learns the session from the token), `admin` only the CLI with the admin
 * credential, `any` either (the handler looks at the principal), `public` also an unauthenticated
 * connection and any session.
 */
export type MethodAccess = 'session' | 'admin' | 'any' | 'public';

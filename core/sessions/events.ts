/** What the engine tells the rest of the daemon about a session's work. */

export type TurnOutcome = 'success' | 'error' | 'stopped' | 'timeout' | 'died' | 'cancelled';

export interface TurnUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadInputTokens: number;
  readonly cacheCreationInputTokens: number;
}

export interface TurnResult {
  readonly outcome: TurnOutcome;
  readonly isError: boolean;
  readonly text: string;
  /** The CLI's own subtype (`success`, `error_during_execution`, ...) when it reported one. */
  readonly subtype: string | undefined;
  /** This turn's cost: the CLI reports a running total per process, the engine keeps the difference. */
  readonly costUsd: number;
  readonly durationMs: number;
  readonly numTurns: number;
  readonly usage: TurnUsage;
  /** The answer as structured data, when the prompt asked for it with a JSON schema. */
  readonly structuredOutput?: unknown;
  /** How full the conversation's context was at the turn's last model call, and how large it is. */
  readonly context?: TurnContext;
}

export interface TurnContext {
  /** Input tokens of the last model call (cached ones included): what the conversation takes up. */
  readonly usedTokens: number;
  /** The model's context window, as the CLI reports it. */
  readonly windowTokens: number;
}

interface EventBase {
  readonly sessionId: string;
  readonly user: string;
  /** The prompt this event belongs to; undefined for events between turns. */
  readonly promptId: string | undefined;
}

export type EngineEvent = EventBase &
  (
    | { readonly type: 'queued'; readonly position: number }
    | { readonly type: 'started' }
    | { readonly type: 'init'; readonly model: string; readonly tools: readonly string[]; readonly mcpServers: readonly { name: string; status: string }[]; readonly cwd: string }
    /** `partial` text is a piece of a block still being written; a whole block has `partial: false`. */
    | { readonly type: 'text'; readonly text: string; readonly partial: boolean }
    | { readonly type: 'thinking'; readonly text: string; readonly partial: boolean }
    | { readonly type: 'tool_use'; readonly toolUseId: string; readonly name: string; readonly input: unknown }
    | { readonly type: 'tool_result'; readonly toolUseId: string; readonly content: string; readonly isError: boolean }
    | { readonly type: 'result'; readonly result: TurnResult }
    | { readonly type: 'error'; readonly message: string }
    /** Someone stopped the session (a person, a frontend, an extension), whether or not a turn was running. */
    | { readonly type: 'stop'; readonly clearedPrompts: number }
    /**
     * A tool call cut by a daemon restart that the CLI did not make again: it either told the model the
     * call was lost (the turn goes on) or waits on it, and then the daemon stops the turn.
     */
    | { readonly type: 'tool_call_lost'; readonly server: string; readonly tool: string }
    /** The CLI compacted the conversation (`manual`: asked with /compact; `auto`: the context was full). */
    | { readonly type: 'compacted'; readonly trigger: string; readonly preTokens: number }
    /** An extension's event about the session, e.g. ask_user's `question`; `data` is the extension's to define. */
    | { readonly type: 'extension'; readonly extension: string; readonly kind: string; readonly data: Readonly<Record<string, unknown>> }
    /** The CLI asks whether it may make a tool call (`permission_mode: approve`); someone must answer it. */
    | ({ readonly type: 'approval_requested' } & ApprovalRequestFields)
    /** An approval was answered: by a person, by a stored rule, by its timeout, by `stop`, or it expired. */
    | { readonly type: 'approval_resolved'; readonly id: string; readonly decision: ApprovalDecision; readonly by: string; readonly reason: string }
  );

/** `allow`/`deny`: answered so; `expired`: the process that asked is gone, so nobody could be answered. */
export type ApprovalDecision = 'allow' | 'deny' | 'expired';

/** What a frontend shows of a pending approval. */
export interface ApprovalRequestFields {
  readonly id: string;
  readonly tool: string;
  readonly input: unknown;
  /** One line saying what the call does, e.g. `Bash: git status`. */
  readonly summary: string;
  /** The rule "always allow" would store, e.g. `Bash(git status:*)`. */
  readonly suggestedPattern: string;
  /** The rule "allow for this session" would store: this very call. */
  readonly sessionPattern: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

export type EngineEventType = EngineEvent['type'];

/** A prompt's result, as delivery callbacks and frontends get it. */
export type ResultEvent = Extract<EngineEvent, { type: 'result' }>;

/** An event as parsed from one stream line, before the engine tags it with its session and prompt. */
export type StreamEvent =
  | { readonly type: 'init'; readonly model: string; readonly tools: readonly string[]; readonly mcpServers: readonly { name: string; status: string }[]; readonly cwd: string }
  | { readonly type: 'text'; readonly text: string; readonly partial: boolean }
  | { readonly type: 'thinking'; readonly text: string; readonly partial: boolean }
  | { readonly type: 'tool_use'; readonly toolUseId: string; readonly name: string; readonly input: unknown }
  | { readonly type: 'tool_result'; readonly toolUseId: string; readonly content: string; readonly isError: boolean }
  | { readonly type: 'compacted'; readonly trigger: string; readonly preTokens: number }
  | { readonly type: 'tool_call_lost'; readonly server: string; readonly tool: string }
  /** The input size of one top-level model call: how full the context is. */
  | { readonly type: 'context_used'; readonly tokens: number }
  | { readonly type: 'cli_result'; readonly subtype: string; readonly isError: boolean; readonly text: string; readonly totalCostUsd: number; readonly durationMs: number; readonly numTurns: number; readonly usage: TurnUsage; readonly structuredOutput?: unknown; readonly contextWindow?: number }
  | { readonly type: 'control_response'; readonly requestId: string; readonly ok: boolean }
  /** The CLI asks (`--permission-prompt-tool stdio`) whether a tool call may run, and waits for the answer. */
  | { readonly type: 'permission_request'; readonly requestId: string; readonly tool: string; readonly input: unknown; readonly toolUseId: string; readonly suggestedRules: readonly string[] }
  /** The CLI no longer waits for the answer to one of its requests. */
  | { readonly type: 'control_cancel'; readonly requestId: string };

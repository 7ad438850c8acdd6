import type { TurnResult } from './events.ts';

export type SessionStatus = 'idle' | 'busy' | 'stopped' | 'dead';

/** Per-prompt choices that shape the CLI's arguments; a change restarts the warm process. */
export interface PromptOptions {
  readonly model?: string;
  readonly appendSystemPrompt?: string;
  /** Ask for the answer as JSON matching this schema (`--json-schema`). */
  readonly jsonSchema?: Readonly<Record<string, unknown>>;
  /** At most this many model turns (`--max-turns`). */
  readonly maxTurns?: number;
  /**
   * The turn is the daemon's own business (an extension's housekeeping): it goes before the prompts
   * already queued, and its events and result reach only those who follow this prompt, never delivery
   * callbacks or frontends.
   */
  readonly silent?: boolean;
}

/** A pending interrupt: sent to the CLI, waiting for its answer and the turn's end. */
export interface PendingInterrupt {
  readonly requestId: string;
  readonly reason: 'stop' | 'timeout';
  readonly sentAt: string;
}

/** The prompt being worked on, and where its input and output begin in the session's files. */
export interface CurrentTurn {
  readonly promptId: string;
  readonly inputOffset: number;
  readonly streamOffset: number;
  readonly startedAt: string;
  readonly interrupt?: PendingInterrupt;
  /** The prompt is silent (see PromptOptions.silent). */
  readonly silent?: boolean;
}

/** The warm CLI process of a session. */
export interface ProcessInfo {
  readonly launchId: number;
  /** The arguments that shape behaviour (not the conversation flag): a prompt needing others restarts it. */
  readonly argsKey: string;
  readonly startedAt: string;
  /** The process's running cost total at its last result: the next turn's cost is the growth from here. */
  readonly costBase: number;
}

/** What a new session is made of, beyond its owner. */
export interface NewSessionRequest {
  readonly name?: string;
  readonly cwd?: string;
  /** A template name; an unknown one makes the session fail closed (no tools, no MCP). */
  readonly template?: string;
  /** Free-form tags a frontend sets to find its sessions again (e.g. the chat a session belongs to). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Made for one piece of work (a scheduled run): removed a while after its queue runs empty. */
  readonly ephemeral?: boolean;
}

export interface SessionState {
  readonly id: string;
  readonly user: string;
  readonly name: string;
  readonly cwd: string;
  readonly template?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ephemeral?: boolean;
  readonly conversationId: string;
  readonly status: SessionStatus;
  readonly statusReason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastActiveAt: string;
  readonly lastPrompt?: string;
  readonly counters: { readonly prompts: number; readonly costUsd: number; readonly turns: number };
  readonly nextSeq: number;
  readonly process?: ProcessInfo;
  readonly current?: CurrentTurn;
  /** Control requests sent outside a turn whose answers must arrive before the next prompt goes in. */
  readonly awaitingControl?: readonly string[];
}

export type PromptStatus = 'queued' | 'running' | 'done';

export interface PromptRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly user: string;
  readonly seq: number;
  readonly text: string;
  readonly options: PromptOptions;
  /** The session that sent this prompt, when another session did (a question through session_ask). */
  readonly fromSession?: string;
  readonly status: PromptStatus;
  readonly enqueuedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly result?: TurnResult;
  /** Handed to the delivery callbacks; a result is delivered once, across restarts. */
  readonly delivered: boolean;
  /** The frontends the result is for (the session's `frontend` label): each must acknowledge it. */
  readonly frontends?: readonly string[];
  /** The frontends that acknowledged the result: it reached them, and is never handed to them again. */
  readonly deliveredTo?: readonly string[];
}

/** A prompt waiting in a session's queue, as others may see it. */
export interface QueuedPrompt {
  readonly id: string;
  /** The prompt's first 200 characters. */
  readonly preview: string;
  /** 1 runs next; counted among the prompts listed (silent ones left out). */
  readonly position: number;
  readonly queuedAt: string;
  /** The session that sent it, when another session did. */
  readonly fromSession?: string;
}

export interface SessionSummary {
  readonly id: string;
  readonly user: string;
  readonly name: string;
  readonly cwd: string;
  readonly template?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly conversationId: string;
  readonly status: SessionStatus;
  readonly statusReason?: string;
  readonly warm: boolean;
  readonly queued: number;
  readonly currentPromptId?: string;
  readonly lastPrompt?: string;
  readonly counters: SessionState['counters'];
  readonly createdAt: string;
  readonly lastActiveAt: string;
}

export interface SubmitRequest {
  readonly user: string;
  /** A session id or name of this user; omitted: the user's most recently active session. */
  readonly session?: string;
  /** Create a new session for this prompt. */
  readonly newSession?: NewSessionRequest;
  readonly text: string;
  readonly options?: PromptOptions;
  /** The session sending this prompt, when a session does: kept as the prompt's `fromSession`. */
  readonly fromSession?: string;
  /**
   * The prompt's id, chosen by the caller (`newId('p')`) to make a submit safe to repeat: when the
   * session already has a prompt with this id (a caller that died before it learnt that its submit was
   * taken), that prompt is returned and nothing is queued.
   */
  readonly promptId?: string;
}

export interface Submitted {
  readonly session: SessionSummary;
  readonly prompt: PromptRecord;
  /** How many prompts are ahead of this one (0: it runs now). */
  readonly position: number;
}

export interface StopResult {
  readonly sessionId: string;
  readonly interruptedPromptId: string | undefined;
  readonly clearedPrompts: number;
}

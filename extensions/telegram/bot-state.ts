import path from 'node:path';
import { newId, readJsonFile, writeJsonAtomic } from 'claude-ext/extension';
import type { Verbosity } from './config.ts';

interface UserState {
  active?: string;
  verbosity?: Verbosity;
}

/** Messages received but not yet sent on as a prompt (the batch window): kept so a crash loses none. */
export interface PendingBatch {
  readonly chatId: string;
  readonly user: string;
  readonly sessionId?: string;
  readonly texts: string[];
  readonly replyTo?: number;
  /** The id the prompt is submitted with: a batch submitted again after a crash is not queued twice. */
  readonly promptId?: string;
}

interface StoredState {
  users: Record<string, UserState>;
  pending: Record<string, PendingBatch>;
  /** Update ids handled lately (Telegram may start over at a random lower id). */
  handled?: number[];
  /** `<chat>:<message>` of the bot's messages → the session that wrote them, newest last. */
  messages: Array<[string, string]>;
  lastUpdateId: number;
  /** Prompts whose results the chat was sent lately, newest last: a result handed again is not sent twice. */
  sentResults?: string[];
  /** Prompt → the messages its answer is shown in, until the answer is sent in full: a reply continued after a crash edits them. */
  replies?: Record<string, number[]>;
  /** Usernames of `allowed_users` (lower case, no `@`) → the id of the account that had the name at first contact. */
  usernames?: Record<string, number>;
  /** Approvals shown and not yet decided → their message: after a restart it is edited, not sent again. */
  approvals?: Record<string, ShownApproval>;
}

/** The message an approval is shown in, and its text (the decision is added to it). */
export interface ShownApproval {
  readonly chatId: string;
  readonly messageId: number;
  readonly text: string;
}

const MAX_REMEMBERED_MESSAGES = 5000;
const MAX_REMEMBERED_UPDATES = 2000;
const MAX_REMEMBERED_RESULTS = 2000;
const MAX_UNFINISHED_REPLIES = 500;
const MAX_SHOWN_APPROVALS = 500;

/**
 * What the bot remembers across restarts: active sessions, verbosity, who wrote which message, the last
 * update handled, the results sent, the accounts usernames were bound to.
 */
export class BotState {
  private state: StoredState;
  private readonly messageIndex = new Map<string, string>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly dataDir: string) {
    let loaded: StoredState | undefined;
    try {
      loaded = readJsonFile<StoredState>(this.file);
    } catch {
      loaded = undefined;
    }
    this.state = { users: {}, messages: [], lastUpdateId: 0, ...loaded, pending: loaded?.pending ?? {} };
    for (const [key, session] of this.state.messages) this.messageIndex.set(key, session);
  }

  private get file(): string {
    return path.join(this.dataDir, 'state.json');
  }

  activeSession(user: string): string | undefined {
    return this.state.users[user]?.active;
  }

  setActiveSession(user: string, sessionId: string | undefined): void {
    const entry = (this.state.users[user] ??= {});
    if (sessionId === undefined) delete entry.active;
    else entry.active = sessionId;
    this.saveSoon();
  }

  verbosity(user: string, fallback: Verbosity): Verbosity {
    return this.state.users[user]?.verbosity ?? fallback;
  }

  setVerbosity(user: string, verbosity: Verbosity): void {
    (this.state.users[user] ??= {}).verbosity = verbosity;
    this.saveSoon();
  }

  /** Adds a message to a user's pending batch and marks its update handled, in one write. */
  addPending(key: string, batch: Omit<PendingBatch, 'texts'>, text: string, updateId: number): void {
    const current = this.state.pending[key];
    this.state.pending[key] = { ...batch, texts: [...(current?.texts ?? []), text], ...(current?.replyTo ? { replyTo: current.replyTo } : {}), promptId: current?.promptId ?? newId('p') };
    const handled = (this.state.handled ??= []);
    if (!handled.includes(updateId)) handled.push(updateId);
    this.state.lastUpdateId = Math.max(this.state.lastUpdateId, updateId);
    this.save();
  }

  peekPending(key: string): PendingBatch | undefined {
    return this.state.pending[key];
  }

  takePending(key: string): PendingBatch | undefined {
    const batch = this.state.pending[key];
    if (!batch) return undefined;
    delete this.state.pending[key];
    this.save();
    return batch;
  }

  pendingKeys(): string[] {
    return Object.keys(this.state.pending);
  }

  rememberMessage(chatId: string, messageId: number, sessionId: string): void {
    const key = `${chatId}:${messageId}`;
    this.messageIndex.set(key, sessionId);
    this.state.messages.push([key, sessionId]);
    if (this.state.messages.length > MAX_REMEMBERED_MESSAGES) {
      for (const [old] of this.state.messages.splice(0, this.state.messages.length - MAX_REMEMBERED_MESSAGES)) this.messageIndex.delete(old);
    }
    this.saveSoon();
  }

  sessionOfMessage(chatId: string, messageId: number): string | undefined {
    return this.messageIndex.get(`${chatId}:${messageId}`);
  }

  /** Whether an update is new; updates Telegram hands out again after a crash are not. */
  isNewUpdate(updateId: number): boolean {
    return !(this.state.handled ?? []).includes(updateId);
  }

  markUpdateHandled(updateId: number): void {
    const handled = (this.state.handled ??= []);
    if (handled.includes(updateId)) return;
    handled.push(updateId);
    if (handled.length > MAX_REMEMBERED_UPDATES) handled.splice(0, handled.length - MAX_REMEMBERED_UPDATES);
    this.state.lastUpdateId = Math.max(this.state.lastUpdateId, updateId);
    this.save();
  }

  /** Whether a prompt's result was sent to its chat. */
  resultSent(promptId: string): boolean {
    return (this.state.sentResults ?? []).includes(promptId);
  }

  /** Records (durably, before the engine is told) that a prompt's result was sent to its chat. */
  markResultSent(promptId: string): void {
    const sent = (this.state.sentResults ??= []);
    if (!sent.includes(promptId)) sent.push(promptId);
    if (sent.length > MAX_REMEMBERED_RESULTS) sent.splice(0, sent.length - MAX_REMEMBERED_RESULTS);
    delete this.state.replies?.[promptId];
    this.save({ durable: true });
  }

  /** The messages a prompt's answer is shown in so far (recorded before anything of the answer is put in them). */
  replyMessages(promptId: string): number[] {
    return [...(this.state.replies?.[promptId] ?? [])];
  }

  /** Records (durably, before the reply puts the answer in them) the messages a prompt's answer is shown in. */
  setReplyMessages(promptId: string, messageIds: readonly number[]): void {
    const replies = (this.state.replies ??= {});
    delete replies[promptId];
    replies[promptId] = [...messageIds];
    const keys = Object.keys(replies);
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_UNFINISHED_REPLIES))) delete replies[old];
    // In place before the fsync, which can take long: a crash during it must not lose a message already created.
    this.save();
    this.save({ durable: true });
  }

  shownApproval(id: string): ShownApproval | undefined {
    return this.state.approvals?.[id];
  }

  setShownApproval(id: string, shown: ShownApproval | undefined): void {
    const approvals = (this.state.approvals ??= {});
    if (shown) approvals[id] = shown;
    else delete approvals[id];
    const keys = Object.keys(approvals);
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_SHOWN_APPROVALS))) delete approvals[old];
    this.save();
  }

  /** The account id a username of `allowed_users` was bound to at first contact. */
  usernameOwner(username: string): number | undefined {
    return this.state.usernames?.[username];
  }

  bindUsername(username: string, id: number): void {
    (this.state.usernames ??= {})[username] = id;
    this.save({ durable: true });
  }

  save(options: { durable?: boolean } = {}): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    writeJsonAtomic(this.file, this.state, options);
  }

  private saveSoon(): void {
    this.saveTimer ??= setTimeout(() => this.save(), 200);
  }
}

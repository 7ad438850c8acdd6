import fs from 'node:fs';
import path from 'node:path';
import type { EngineSettings } from './engine-settings.ts';
import type { EventLog } from './event-log.ts';
import { SessionRuntime } from './session-runtime.ts';
import type { SessionStore } from './session-store.ts';
import type { NewSessionRequest, SessionState } from './session-types.ts';
import { assertWorkingDirAllowed } from './working-roots.ts';
import { InvalidRequestError, SessionLimitError, SessionNotFoundError } from '../util/errors.ts';
import { newConversationId, newId } from '../util/ids.ts';

export interface SessionRegistryOptions {
  readonly store: SessionStore;
  readonly eventLog: EventLog;
  readonly settings: () => Pick<EngineSettings, 'maxPerUser' | 'defaultCwd' | 'roots'>;
  readonly stateDir: string;
  /** The working directory a template gives new sessions that name none. */
  readonly templateCwd?: (template: string) => string | undefined;
  /** Ends a session's work before it is removed: queue cancelled, turn finished, process ended. */
  readonly endWork: (rt: SessionRuntime) => Promise<void>;
}

/** Every session the engine knows, by id and by its user's name for it; creates, renames and deletes them. */
export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRuntime>();

  constructor(private readonly options: SessionRegistryOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  all(): SessionRuntime[] {
    return [...this.sessions.values()];
  }

  get(sessionId: string): SessionRuntime | undefined {
    return this.sessions.get(sessionId);
  }

  /** A session by id, or SessionNotFoundError. */
  require(sessionId: string): SessionRuntime {
    const rt = this.sessions.get(sessionId);
    if (!rt) throw new SessionNotFoundError(undefined, sessionId);
    return rt;
  }

  /** A session by id or by name; with a user, only that user's sessions are found. */
  resolve(ref: string, user?: string): SessionRuntime {
    const byId = this.sessions.get(ref);
    if (byId && (user === undefined || byId.state.user === user)) return byId;
    const byName = this.all().find((rt) => rt.state.name === ref && (user === undefined || rt.state.user === user));
    if (byName) return byName;
    throw new SessionNotFoundError(user, ref);
  }

  ownedBy(user: string): SessionRuntime[] {
    return this.all().filter((rt) => rt.state.user === user);
  }

  /** The user's most recently active session, if any. */
  latestOf(user: string): SessionRuntime | undefined {
    return this.ownedBy(user).sort((a, b) => b.state.lastActiveAt.localeCompare(a.state.lastActiveAt))[0];
  }

  create(request: NewSessionRequest & { user: string }): SessionRuntime {
    validateUser(request.user);
    const settings = this.options.settings();
    const owned = this.ownedBy(request.user);
    // A one-off session whose work is done (kept a while, or until its frontend has its result) holds no place.
    const finishedOneOff = (rt: SessionRuntime): boolean => rt.state.ephemeral === true && rt.state.counters.prompts > 0 && !rt.state.current && rt.queue.length === 0;
    if (owned.filter((rt) => !finishedOneOff(rt)).length >= settings.maxPerUser) throw new SessionLimitError(request.user, settings.maxPerUser);
    const name = request.name ?? uniqueName(owned.map((rt) => rt.state.name));
    validateSessionName(name);
    if (owned.some((rt) => rt.state.name === name)) throw new InvalidRequestError(`user "${request.user}" already has a session named "${name}"`);
    const templateCwd = request.template ? this.options.templateCwd?.(request.template) : undefined;
    const cwd = path.resolve(settings.defaultCwd, request.cwd ?? templateCwd ?? '.');
    if (!isDirectory(cwd)) throw new InvalidRequestError(`working directory ${cwd} does not exist`);
    assertWorkingDirAllowed(settings.roots, request.user, cwd, this.options.stateDir);
    const now = new Date().toISOString();
    const state: SessionState = {
      id: newId('s'),
      user: request.user,
      name,
      cwd,
      conversationId: newConversationId(),
      ...(request.template ? { template: request.template } : {}),
      ...(request.labels && Object.keys(request.labels).length > 0 ? { labels: { ...request.labels } } : {}),
      ...(request.ephemeral ? { ephemeral: true } : {}),
      status: 'idle',
      createdAt: now,
      updatedAt: now,
      lastActiveAt: now,
      counters: { prompts: 0, costUsd: 0, turns: 0 },
      nextSeq: 1,
    };
    this.options.store.create(state);
    const rt = this.add(state);
    this.options.eventLog.record('session_created', { session: state.id, user: state.user, name, cwd, ...(request.template ? { template: request.template } : {}) });
    return rt;
  }

  /** Takes in a session found on disk. */
  add(state: SessionState): SessionRuntime {
    const rt = new SessionRuntime(state, this.options.store);
    this.sessions.set(state.id, rt);
    return rt;
  }

  /** Gives a session a new name, unique among its user's sessions. */
  rename(sessionId: string, name: string): SessionRuntime {
    const rt = this.require(sessionId);
    validateSessionName(name);
    if (this.ownedBy(rt.state.user).some((other) => other !== rt && other.state.name === name)) {
      throw new InvalidRequestError(`user "${rt.state.user}" already has a session named "${name}"`);
    }
    rt.update({ name });
    this.options.eventLog.record('session_renamed', { session: sessionId, name });
    return rt;
  }

  async delete(sessionId: string): Promise<void> {
    const rt = this.require(sessionId);
    await rt.serial(async () => {
      await this.options.endWork(rt);
      this.sessions.delete(rt.state.id);
      rt.markRemoved();
      this.options.store.remove(rt.state.id);
    });
    this.options.eventLog.record('session_deleted', { session: sessionId });
  }
}

export function validateUser(user: unknown): asserts user is string {
  if (typeof user !== 'string' || user.length === 0 || user.length > 128 || /[\0\n]/.test(user)) {
    throw new InvalidRequestError('a user id is a non-empty string of at most 128 characters');
  }
}

function validateSessionName(name: string): void {
  if (!/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(name)) {
    throw new InvalidRequestError(`session name "${name}" must be 1-64 letters, digits, spaces, dots, dashes or underscores`);
  }
}

function uniqueName(taken: string[]): string {
  if (!taken.includes('default')) return 'default';
  for (let n = 2; ; n += 1) if (!taken.includes(`session-${n}`)) return `session-${n}`;
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

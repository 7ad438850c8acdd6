import { permissionResponseLine, type PermissionAnswer } from './claude/claude-args.ts';
import type { Delivery, UntaggedEvent } from './delivery.ts';
import type { StreamEvent } from './events.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { SessionRuntime } from './session-runtime.ts';
import { toDisposable, type Disposable } from '../util/disposable.ts';
import { appendPrivate } from '../util/files.ts';
import type { Logger } from '../util/log.ts';

/** A permission request (or its withdrawal) of a session's running process. */
export type PermissionListener = (request: {
  readonly sessionId: string;
  readonly launchId: number;
  readonly promptId: string | undefined;
  readonly event: Extract<StreamEvent, { type: 'permission_request' | 'control_cancel' }>;
}) => void;

/**
 * The engine's side of `permission_mode: approve`: the CLI's `can_use_tool` requests out to whoever
 * listens, their answers into the process that asked (and no other), a `stop` heard before its interrupt.
 */
export class PermissionChannel {
  private readonly permissionListeners = new Set<PermissionListener>();
  private readonly stopListeners = new Set<(sessionId: string) => void>();

  constructor(private readonly deps: { readonly registry: SessionRegistry; readonly delivery: Delivery; readonly log: Logger }) {}

  /** Hears every `can_use_tool` request of a session process, and every request it withdraws. */
  onPermission(listener: PermissionListener): Disposable {
    this.permissionListeners.add(listener);
    return toDisposable(() => this.permissionListeners.delete(listener));
  }

  /** Hears every `stop` of a session, before the interrupt is sent. */
  onStop(listener: (sessionId: string) => void): Disposable {
    this.stopListeners.add(listener);
    return toDisposable(() => this.stopListeners.delete(listener));
  }

  /** The launch id of the session's running process, if it has one. */
  processLaunchId(sessionId: string): number | undefined {
    return this.deps.registry.get(sessionId)?.state.process?.launchId;
  }

  /** Answers a permission request on the session's input; false when `launchId` is no longer its process. */
  answer(sessionId: string, launchId: number, requestId: string, answer: PermissionAnswer): boolean {
    const rt = this.deps.registry.get(sessionId);
    if (!rt || rt.isRemoved || rt.state.process?.launchId !== launchId) return false;
    appendPrivate(rt.files.input, permissionResponseLine(requestId, answer));
    return true;
  }

  /** Hands an event about a session (an approval) to its frontends and to whoever follows its prompt. */
  announce(sessionId: string, event: UntaggedEvent): void {
    const rt = this.deps.registry.get(sessionId);
    if (rt) this.deps.delivery.emit(rt.state, rt.state.current?.promptId, event);
  }

  /** A request (or withdrawal) read from a session's stream. */
  received(rt: SessionRuntime, event: Parameters<PermissionListener>[0]['event']): void {
    const launchId = rt.state.process?.launchId;
    if (launchId === undefined) return;
    for (const listener of this.permissionListeners) {
      this.guarded('a permission listener failed', rt.state.id, () => listener({ sessionId: rt.state.id, launchId, promptId: rt.state.current?.promptId, event }));
    }
  }

  /** The session is being stopped: its interrupt goes out right after this. */
  stopping(sessionId: string): void {
    for (const listener of this.stopListeners) this.guarded('a stop listener failed', sessionId, () => listener(sessionId));
  }

  private guarded(what: string, sessionId: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.deps.log.error(what, { session: sessionId, error: (error as Error).message });
    }
  }
}

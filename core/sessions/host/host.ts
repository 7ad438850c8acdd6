/**
 * Where a session's Claude process runs. The engine speaks to the process only through files, so a
 * host needs nothing but the ability to start a program with those files wired to it, tell whether it
 * still runs, and end it. The tmux host runs it on this machine; a host for a cluster scheduler needs
 * the state directory on shared storage and these four operations.
 */
export interface LaunchSpec {
  /** Unique among the host's processes; the engine uses the session id. */
  readonly name: string;
  /** The program and its arguments, never passed through a shell unquoted. */
  readonly argv: readonly string[];
  /** The process's whole environment: nothing else leaks in. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Append-only file of input lines: the process's stdin, read from `inputOffset` on, following growth. */
  readonly inputPath: string;
  readonly inputOffset: number;
  /** The process's stdout and stderr are appended here. */
  readonly outputPath: string;
  readonly stderrPath: string;
  /** Written (atomically) with the exit code when the process ends by itself. */
  readonly exitPath: string;
  /** A file the host may write to describe the launch (the tmux host writes its script there). */
  readonly scriptPath: string;
}

export interface SessionHost {
  readonly kind: string;
  launch(spec: LaunchSpec): Promise<void>;
  isRunning(name: string): Promise<boolean>;
  /** Ends the process and everything it started; resolves once it is gone. */
  terminate(name: string): Promise<void>;
  /** Names of the processes running now. */
  running(): Promise<Set<string>>;
}

export class HostError extends Error {
  constructor(
    readonly host: string,
    readonly operation: string,
    message: string,
  ) {
    super(`${host} host: ${operation}: ${message}`);
    this.name = 'HostError';
  }
}

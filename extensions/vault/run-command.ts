import { spawn } from 'node:child_process';

export interface RunRequest {
  readonly command: string;
  readonly cwd: string;
  /** Variables for the command: the secrets it was given, resolved. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Aborting it ends the command (its whole process group) and rejects with RunCancelledError. */
  readonly signal?: AbortSignal;
  /**
   * Wraps the command's argument vector (`/bin/sh -c command`), e.g. to run it in the session's
   * sandbox: the returned argv is what is started, and the returned variables change its environment
   * (null removes one); the secrets are set last.
   */
  readonly wrap?: (argv: string[]) => Promise<{ readonly argv: string[]; readonly env: Readonly<Record<string, string | null>> }>;
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly truncated: boolean;
}

/** The call a command ran for was cancelled: the command was ended. */
export class RunCancelledError extends Error {
  constructor() {
    super('the command was ended because its call was cancelled');
    this.name = 'RunCancelledError';
  }
}

/** What a command gets from the daemon's environment besides its secrets. */
const PASSED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TERM', 'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS'];

/** How long the command's process group has to end after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 500;
/**
 * How long the output may stay quiet without ending once the command has exited, and how long it may
 * take to end after SIGKILL. A process the command left running (`server &`, `setsid ...`) can hold
 * the pipes open for ever: the answer does not wait for it.
 */
const OUTPUT_SETTLE_MS = 250;

/**
 * Runs a shell command with secrets in its environment, in a process group of its own; its output is
 * returned as is (redact it). When it times out, its output grows past the limit or `signal` aborts,
 * the whole group is ended (SIGTERM, SIGKILL after a grace). Whatever the command leaves running in
 * its group is ended too when it exits: nothing outlives the call with the secrets in its environment
 * (but a process that left the group, with `setsid`, is out of reach).
 */
export async function runWithSecrets(request: RunRequest): Promise<RunResult> {
  if (request.signal?.aborted) throw new RunCancelledError();
  let argv = ['/bin/sh', '-c', request.command];
  const env: Record<string, string> = passedEnv();
  if (request.wrap) {
    const wrapped = await request.wrap(argv);
    argv = wrapped.argv;
    for (const [name, value] of Object.entries(wrapped.env)) {
      if (value === null) delete env[name];
      else env[name] = value;
    }
    if (request.signal?.aborted) throw new RunCancelledError();
  }
  return runInGroup(argv, { ...env, ...request.env }, request);
}

function passedEnv(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of PASSED) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return base;
}

function runInGroup(argv: readonly string[], env: Record<string, string>, request: RunRequest): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('the wrapped command is empty'));
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, { cwd: request.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = new OutputBuffer(request.maxOutputBytes);
    const stderr = new OutputBuffer(request.maxOutputBytes);
    let exitCode: number | null = null;
    let exited = false;
    let ended: 'timeout' | 'output' | 'cancelled' | undefined;
    let settled = false;
    let settling: NodeJS.Timeout | undefined;

    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(settling);
      request.signal?.removeEventListener('abort', cancel);
      child.stdout.destroy();
      child.stderr.destroy();
      if (ended === undefined && child.pid !== undefined) endGroup(child.pid);
      if (ended === 'cancelled') reject(new RunCancelledError());
      else if (error) resolve({ exitCode: null, stdout: '', stderr: `the command could not be started in ${request.cwd}: ${error.message}`, timedOut: false, truncated: false });
      else resolve({ exitCode, stdout: stdout.text(), stderr: stderr.text(), timedOut: ended === 'timeout', truncated: stdout.cut || stderr.cut });
    };
    /** Ends the group; the answer goes once the output has ended, or after the grace and a little more. */
    const end = (why: 'timeout' | 'output' | 'cancelled'): void => {
      if (settled || ended !== undefined) return;
      ended = why;
      if (child.pid !== undefined) endGroup(child.pid);
      clearTimeout(settling);
      settling = setTimeout(() => finish(), KILL_GRACE_MS + OUTPUT_SETTLE_MS);
    };
    const cancel = (): void => end('cancelled');

    const timeout = setTimeout(() => end('timeout'), request.timeoutMs);
    request.signal?.addEventListener('abort', cancel, { once: true });
    /** Once the command has exited, the answer goes when its output ends or has been quiet a moment. */
    const settleAfterExit = (): void => {
      clearTimeout(settling);
      settling = setTimeout(() => finish(), OUTPUT_SETTLE_MS);
    };
    const take = (buffer: OutputBuffer) => (chunk: Buffer) => {
      if (!buffer.add(chunk)) end('output');
      else if (exited && ended === undefined) settleAfterExit();
    };
    child.stdout.on('data', take(stdout));
    child.stderr.on('data', take(stderr));
    child.on('exit', (code) => {
      exitCode = code;
      exited = true;
      if (ended === undefined) settleAfterExit();
    });
    child.on('close', () => finish());
    child.on('error', (error) => {
      // Only a process that never started settles here; otherwise 'exit' and 'close' follow.
      if (child.pid === undefined) finish(error);
    });
  });
}

/** Sends SIGTERM to a process group, and SIGKILL after a grace when anything of it is left. */
function endGroup(pgid: number): void {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  setTimeout(() => signalGroup(pgid, 'SIGKILL'), KILL_GRACE_MS).unref();
}

/** False when the group is gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** A stream's output up to a number of bytes; what comes beyond is dropped and marks it cut. */
class OutputBuffer {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  cut = false;

  constructor(private readonly max: number) {}

  /** False once the output has gone past the limit. */
  add(chunk: Buffer): boolean {
    const room = this.max - this.bytes;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.bytes = this.max;
      this.cut = true;
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

import { execa } from 'execa';

export interface RunRequest {
  readonly command: string;
  readonly cwd: string;
  /** Variables for the command: the secrets it was given, resolved. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly truncated: boolean;
}

/** What a command gets from the daemon's environment besides its secrets. */
const PASSED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TERM', 'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS'];

/** Runs a shell command with secrets in its environment; its output is returned as is (redact it). */
export async function runWithSecrets(request: RunRequest): Promise<RunResult> {
  const base: Record<string, string> = {};
  for (const name of PASSED) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const result = await execa('/bin/sh', ['-c', request.command], {
    cwd: request.cwd,
    env: { ...base, ...request.env },
    extendEnv: false,
    timeout: request.timeoutMs,
    maxBuffer: request.maxOutputBytes,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
  });
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    exitCode: result.exitCode ?? null,
    stdout: text(result.stdout),
    stderr: text(result.stderr),
    timedOut: result.timedOut === true,
    truncated: result.isMaxBuffer === true,
  };
}

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseUsageAnswer } from './usage-answer.ts';
import { UsageReadError, type UsageReading, type UsageSource } from './usage-types.ts';

export interface CliUsageSourceOptions {
  readonly claudePath: string;
  /** The environment a session's CLI gets (credentials included, never on the command line). */
  readonly env: () => Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** Answers beyond this are not the control responses we wait for. */
const MAX_OUTPUT_BYTES = 8 * 1024 ** 2;

/**
 * Asks the claude CLI itself: starts `claude -p` in stream-json mode with no prompt, sends the
 * `initialize` and `get_usage` control requests on its stdin, and closes stdin once `get_usage` is
 * answered (the CLI then exits). About 1.3 s; no model call.
 */
export class CliUsageSource implements UsageSource {
  readonly name = 'the claude CLI (get_usage)';

  constructor(private readonly options: CliUsageSourceOptions) {}

  read(): Promise<UsageReading> {
    const { claudePath, timeoutMs } = this.options;
    const fail = (problem: string, hint?: string): UsageReadError => new UsageReadError(this.name, problem, hint);
    // Outside any sandbox: no settings but the daemon user's own (a session can write a project's
    // settings, and their hooks would run here), in an empty directory of its own.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'claude-ext-usage-'));
    const removeCwd = (): void => fs.rmSync(cwd, { recursive: true, force: true });
    const reading = new Promise<UsageReading>((resolve, reject) => {
      const child = spawn(claudePath, ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--setting-sources', 'user'], {
        cwd,
        env: { ...this.options.env() },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let settled = false;
      let account: unknown;
      let pending = '';
      let outputBytes = 0;
      let stderr = '';
      const finish = (error: UsageReadError | undefined, reading?: UsageReading): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          child.kill('SIGKILL');
          reject(error);
        } else {
          child.stdin.end();
          resolve(reading as UsageReading);
        }
      };
      const timer = setTimeout(() => finish(fail(`no answer to get_usage within ${timeoutMs} ms`, 'the CLI may be too old for get_usage (2.1.x has it); set usage.command to read usage another way')), timeoutMs);
      const onLine = (line: string): void => {
        const message = parseJson(line);
        if (message?.type !== 'control_response') return;
        const response = message.response as { subtype?: string; request_id?: string; response?: Record<string, unknown>; error?: string } | undefined;
        if (response?.request_id === REQUEST_IDS.initialize && response.subtype === 'success') account = response.response?.account;
        if (response?.request_id !== REQUEST_IDS.usage) return;
        if (response.subtype !== 'success') finish(fail(`get_usage was refused: ${response.error ?? 'no reason given'}`, 'the CLI may be too old for get_usage; set usage.command to read usage another way'));
        else finish(undefined, parseUsageAnswer(response.response, account));
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        outputBytes += chunk.length;
        if (outputBytes > MAX_OUTPUT_BYTES) return finish(fail(`more than ${MAX_OUTPUT_BYTES} bytes of output without an answer`));
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline !== -1 && !settled) {
          onLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = `${stderr}${chunk}`.slice(-2000);
      });
      child.on('error', (error) => finish(fail(`${claudePath} could not be started: ${error.message}`, 'check engine.claude_path')));
      child.on('exit', (code, signal) => finish(fail(`the CLI exited (${signal ?? `code ${code}`}) before answering${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`)));
      // A closed stdin before the answer (the CLI failed at start) must not crash the daemon.
      child.stdin.on('error', () => undefined);
      child.stdin.write(`${JSON.stringify({ type: 'control_request', request_id: REQUEST_IDS.initialize, request: { subtype: 'initialize' } })}\n`);
      child.stdin.write(`${JSON.stringify({ type: 'control_request', request_id: REQUEST_IDS.usage, request: { subtype: 'get_usage' } })}\n`);
    });
    return reading.finally(removeCwd);
  }
}

const REQUEST_IDS = { initialize: 'usage-initialize', usage: 'usage-get' } as const;

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

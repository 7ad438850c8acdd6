import { execFile } from 'node:child_process';
import { parseUsageAnswer } from './usage-answer.ts';
import { UsageReadError, type UsageReading, type UsageSource } from './usage-types.ts';

export interface CommandUsageSourceOptions {
  /** The command and its arguments (`usage.command`), run without a shell. */
  readonly argv: readonly string[];
  readonly env: () => Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly timeoutMs: number;
}

/**
 * Runs a configured command that prints one JSON object shaped as the CLI's `get_usage` answer
 * (`subscription_type`, `rate_limits: {five_hour, seven_day}`), optionally with an `account` object
 * shaped as the `initialize` answer's.
 */
export class CommandUsageSource implements UsageSource {
  readonly name: string;

  constructor(private readonly options: CommandUsageSourceOptions) {
    this.name = `usage.command (${options.argv[0] ?? ''})`;
  }

  read(): Promise<UsageReading> {
    const [file, ...args] = this.options.argv;
    if (!file) return Promise.reject(new UsageReadError(this.name, 'usage.command is empty', 'give the command as a list, e.g. [/usr/local/bin/my-usage, --json]'));
    return new Promise((resolve, reject) => {
      execFile(file, args, { cwd: this.options.cwd, env: { ...this.options.env() }, timeout: this.options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 ** 2 }, (error, stdout, stderr) => {
        if (error) {
          const why = error.killed ? `it did not finish within ${this.options.timeoutMs} ms` : `${error.message.split('\n')[0]}${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`;
          reject(new UsageReadError(this.name, why, 'check usage.command'));
          return;
        }
        let answer: unknown;
        try {
          answer = JSON.parse(stdout);
        } catch {
          reject(new UsageReadError(this.name, 'its output is not one JSON object', 'it must print the shape of the CLI\'s get_usage answer (docs/configuration.md, usage)'));
          return;
        }
        const account = answer !== null && typeof answer === 'object' ? (answer as { account?: unknown }).account : undefined;
        resolve(parseUsageAnswer(answer, account));
      });
    });
  }
}

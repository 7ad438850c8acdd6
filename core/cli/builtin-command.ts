import type { CliContext } from './cli-context.ts';

/** What a built-in command gets: the run's context and, as an extension command does, its arguments. */
export interface BuiltinCommandContext extends CliContext {
  /** The arguments after the command name. */
  readonly args: readonly string[];
}

/** A command of the CLI itself, shaped as an extension's `ExtensionCommand`. */
export interface BuiltinCommand {
  readonly name: string;
  /** Its entry in `claude-ext help`: the synopsis, then what it does. */
  readonly usage: string;
  run(ctx: BuiltinCommandContext): Promise<number>;
}

/** Where a summary starts in an entry; help indents entries by two more. */
const SUMMARY_COLUMN = 42;

/** A help entry: the summary in its column, or on the next line (indented as help shows it) after a long synopsis. */
export function usage(synopsis: string, summary: string): string {
  if (synopsis.length < SUMMARY_COLUMN) return `${synopsis.padEnd(SUMMARY_COLUMN)}${summary}`;
  return `${synopsis}\n${' '.repeat(SUMMARY_COLUMN + 2)}${summary}`;
}

/** Where a command writes: stdout and stderr in the real CLI, buffers in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** What one run of the CLI gets from its process. */
export interface CliContext {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly output: Output;
  readonly stdin: () => Promise<string>;
}

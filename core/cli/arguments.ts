import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the CLI cannot run: reported with a pointer to `claude-ext help`. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's arguments strictly; a mistake becomes a UsageError. */
export function parse<O extends Options>(args: readonly string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The options of most commands that talk to the daemon. */
export const commonOptions = { config: { type: 'string' }, json: { type: 'boolean' }, user: { type: 'string' } } as const;

/** Splits `--config FILE` off arguments that are otherwise left as they are (an extension parses them). */
export function takeConfigOption(args: readonly string[]): { configPath: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let configPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--config') configPath = args[++i];
    else if (arg.startsWith('--config=')) configPath = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { configPath, rest };
}

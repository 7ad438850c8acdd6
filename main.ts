import { readStdin, runCli } from './core/cli/commands.ts';
import { processOutput } from './core/cli/render.ts';

process.exitCode = await runCli({
  argv: process.argv.slice(2),
  cwd: process.cwd(),
  env: process.env,
  output: processOutput,
  stdin: readStdin,
});

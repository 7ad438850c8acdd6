import { processOutput, readStdin } from './core/cli/process-io.ts';
import { runCli } from './core/cli/run-cli.ts';

process.exitCode = await runCli({
  argv: process.argv.slice(2),
  cwd: process.cwd(),
  env: process.env,
  output: processOutput,
  stdin: readStdin,
});

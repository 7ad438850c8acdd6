/**
 * Reads a secret for the CLI: typed at a terminal without echo, or piped in (`vault set KEY < file`)
 * with one trailing newline removed.
 */
export async function readSecret(prompt: string, readPiped: () => Promise<string>): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return (await readPiped()).replace(/\r?\n$/, '');
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  let value = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') {
            input.off('data', onData);
            resolve(value);
            return;
          }
          if (char === '\u0003') {
            input.off('data', onData);
            reject(new Error('cancelled'));
            return;
          }
          if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
          else value += char;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    process.stderr.write('\n');
  }
}

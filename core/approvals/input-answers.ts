import fs from 'node:fs';

/**
 * Whether a session's input already holds the answer to the CLI's request `requestId`: the daemon may have
 * written it and died before it recorded so.
 */
export function inputHasAnswer(inputFile: string, requestId: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(inputFile, 'utf8');
  } catch {
    return false;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(requestId)) continue;
    try {
      const parsed = JSON.parse(line) as { type?: unknown; response?: { request_id?: unknown } };
      if (parsed.type === 'control_response' && parsed.response?.request_id === requestId) return true;
    } catch {
      // a line cut short by the crash: not an answer
    }
  }
  return false;
}

import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { METHODS, type SendFileResult } from './protocol.ts';

/** Sends a file of the session to its Telegram chat; served by the daemon. */
export const sendFile = defineTool({
  name: 'send_file',
  description: "Send a file from the session's working directory to the user's Telegram chat.",
  input: {
    path: z.string().min(1).describe('A path relative to the working directory'),
    caption: z.string().max(1024).optional().describe('A short caption'),
  },
  annotations: { destructiveHint: false, openWorldHint: true },
  handler: async ({ path, caption }, ctx) => {
    const answer = await ctx.bridge.call<SendFileResult>(METHODS.sendFile, { path, ...(caption ? { caption } : {}) }, { signal: ctx.signal });
    return `sent ${answer.sent}`;
  },
});


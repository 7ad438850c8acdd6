/** Telegram's bridge method: its name, params and result, shared by the extension and its tool. */
import { z } from 'zod';

export const METHODS = {
  sendFile: 'telegram.send_file',
} as const;

export const sendFileParams = z.object({ path: z.string().min(1), caption: z.string().max(1024).optional() });

export interface SendFileResult {
  /** The file's path relative to the session's working directory. */
  readonly sent: string;
}

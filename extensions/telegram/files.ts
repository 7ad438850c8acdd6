import fs from 'node:fs';
import path from 'node:path';
import { Composer, InputFile, type Context } from 'grammy';
import { RpcError, RpcErrorCode, type SessionSummary } from 'claude-ext/extension';
import { METHODS, sendFileParams, type SendFileResult } from './protocol.ts';
import { engineUser, threadedSession, type TelegramRuntime } from './runtime.ts';
import { sendFile } from './tools.ts';

/** Telegram bots may send documents up to 50 MB. */
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

/** Photos and documents from allowed users: saved in the session's working directory, and the session told where. */
export function incomingFilesComposer(runtime: TelegramRuntime): Composer<Context> {
  const files = new Composer<Context>();
  files.on(['message:photo', 'message:document'], async (c) => {
    const text = c.msg.caption ?? '';
    const sessionId = threadedSession(runtime, c);
    const session = sessionId ? runtime.ctx.sessions.get(sessionId) : runtime.activeSession(engineUser(c.from.id), String(c.chat.id));
    if (!session) return;
    try {
      const saved = await saveIncomingFile(runtime, c, session);
      runtime.enqueue(c, `[The user sent a file; it is saved at ${saved}]${text ? `\n\n${text}` : ''}`, sessionId);
    } catch (error) {
      await c.reply(`⚠️ The file could not be saved: ${(error as Error).message}`);
      if (text.trim()) runtime.enqueue(c, text, sessionId);
    }
  });
  return files;
}

/** Saves a photo or document a user sent into the session's working directory; returns its path. */
export async function saveIncomingFile(runtime: TelegramRuntime, c: Context, session: SessionSummary): Promise<string> {
  const message = c.msg;
  const photo = message?.photo?.at(-1);
  const document = message?.document;
  const fileId = document?.file_id ?? photo?.file_id;
  if (!fileId) throw new Error('the message carries no file');
  const file = await runtime.bot.api.getFile(fileId);
  if (!file.file_path) throw new Error('Telegram did not give a download path for the file');
  const url = `${runtime.ctx.config.api_root}/file/bot${runtime.ctx.config.token}/${file.file_path}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`downloading the file failed: HTTP ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const dir = path.join(session.cwd, runtime.ctx.config.uploads_dir);
  fs.mkdirSync(dir, { recursive: true });
  const original = document?.file_name ?? path.basename(file.file_path);
  const safeName = original.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '') || 'file';
  const target = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${safeName}`);
  fs.writeFileSync(target, bytes, { mode: 0o600 });
  runtime.ctx.record('telegram_file_saved', { session: session.id, bytes: bytes.length });
  return target;
}

/**
 * `telegram.send_file`: a session sends a file from its working directory to its own chat — never
 * to another chat, never a file outside the working directory.
 */
export function addFileTools(runtime: TelegramRuntime): void {
  const { ctx } = runtime;
  ctx.addTools({ server: 'telegram', tools: [sendFile], when: (session) => session.labels.frontend === 'telegram' });
  ctx.addBridgeMethod(METHODS.sendFile, { params: sendFileParams }, async (params, call): Promise<SendFileResult> => {
    const session = call.session;
    const chatId = session.labels.chat;
    if (session.labels.frontend !== 'telegram' || !chatId) throw new RpcError(RpcErrorCode.ServerError, 'this session does not belong to a Telegram chat');
    const file = insideWorkingDir(session.cwd, params.path);
    let failure: Error | undefined;
    await runtime.outbox.run(chatId, async () => {
      try {
        const sent = await runtime.bot.api.sendDocument(chatId, new InputFile(file), params.caption ? { caption: params.caption } : {});
        runtime.state.rememberMessage(chatId, sent.message_id, session.id);
      } catch (error) {
        failure = error as Error;
      }
    });
    if (failure) throw new RpcError(RpcErrorCode.ServerError, `Telegram refused the file: ${failure.message}`);
    return { sent: path.relative(fs.realpathSync(session.cwd), file) };
  });
}

/** The real path of `requested`, refused unless it is a regular file inside the working directory. */
export function insideWorkingDir(cwd: string, requested: string): string {
  const root = fs.realpathSync(cwd);
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(root, requested));
  } catch {
    throw new RpcError(RpcErrorCode.InvalidParams, `no such file: ${requested}`);
  }
  if (real !== root && !real.startsWith(`${root}${path.sep}`)) throw new RpcError(RpcErrorCode.InvalidParams, `${requested} is outside the session's working directory`);
  const stat = fs.statSync(real);
  if (!stat.isFile()) throw new RpcError(RpcErrorCode.InvalidParams, `${requested} is not a file`);
  if (stat.size > MAX_UPLOAD_BYTES) throw new RpcError(RpcErrorCode.InvalidParams, `${requested} is larger than Telegram's 50 MB limit`);
  return real;
}

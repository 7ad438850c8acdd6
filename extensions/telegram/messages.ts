import { Composer, type Context } from 'grammy';
import { saveIncomingFile } from './files.ts';
import type { QuestionPrompts } from './question-prompts.ts';
import { engineUser, type TelegramRuntime } from './runtime.ts';

/** Text, photos and documents from allowed users go to their sessions (or answer an open question). */
export function messagesComposer(runtime: TelegramRuntime, questions: QuestionPrompts): Composer<Context> {
  const { state, ctx } = runtime;
  const messages = new Composer<Context>();
  messages.on('message', async (c) => {
    const from = c.from;
    const user = engineUser(from.id);
    const chatId = String(c.chat.id);
    const text = c.msg.text ?? c.msg.caption ?? '';
    if (c.msg.text !== undefined && questions.takeFreeText(user, chatId, c.msg.text)) return;
    const replied = c.msg.reply_to_message?.message_id;
    const threaded = replied !== undefined ? state.sessionOfMessage(chatId, replied) : undefined;
    const sessionId = threaded && ctx.sessions.get(threaded)?.user === user ? threaded : undefined;
    if (c.msg.photo || c.msg.document) {
      const session = sessionId ? ctx.sessions.get(sessionId) : runtime.activeSession(user, chatId);
      if (!session) return;
      try {
        const saved = await saveIncomingFile(runtime, c, session);
        runtime.enqueue(c, `[The user sent a file; it is saved at ${saved}]${text ? `\n\n${text}` : ''}`, sessionId);
      } catch (error) {
        await c.reply(`⚠️ The file could not be saved: ${(error as Error).message}`);
        if (text.trim()) runtime.enqueue(c, text, sessionId);
      }
      return;
    }
    if (!text.trim()) {
      if (c.msg.voice || c.msg.video || c.msg.audio || c.msg.video_note || c.msg.sticker) await c.reply('I can take text, photos and documents (voice, video and stickers are not supported).');
      return;
    }
    runtime.enqueue(c, text, sessionId);
  });
  return messages;
}

import { Composer, type Context } from 'grammy';
import type { QuestionPrompts } from './question-prompts.ts';
import { engineUser, threadedSession, type TelegramRuntime } from './runtime.ts';

/** Text from allowed users goes to their sessions (or answers an open question). */
export function messagesComposer(runtime: TelegramRuntime, questions: QuestionPrompts): Composer<Context> {
  const messages = new Composer<Context>();
  messages.on('message', async (c) => {
    const user = engineUser(c.from.id);
    const chatId = String(c.chat.id);
    const text = c.msg.text ?? c.msg.caption ?? '';
    if (c.msg.text !== undefined && questions.takeFreeText(user, chatId, c.msg.text)) return;
    if (!text.trim()) {
      if (c.msg.voice || c.msg.video || c.msg.audio || c.msg.video_note || c.msg.sticker) await c.reply('I can take text, photos and documents (voice, video and stickers are not supported).');
      return;
    }
    runtime.enqueue(c, text, threadedSession(runtime, c));
  });
  return messages;
}

import type { Ask, SessionRef } from './ask-store.ts';

/** How a session is named in text for a reader of `user`: `"name"`, or `"user/name"` across users. */
export function nameFor(session: Pick<SessionRef, 'user' | 'name'>, user: string): string {
  return session.user === user ? `"${session.name}"` : `"${session.user}/${session.name}"`;
}

/** The prompt the target session gets for a question: who asks, that the reply is the answer, the question. */
export function questionPrompt(from: SessionRef, to: SessionRef, question: string): string {
  return [
    `[session_ask] Session ${nameFor(from, to.user)} asks you the question below and waits for your reply: the text of your reply to this prompt is returned to it as the answer.`,
    '',
    question,
  ].join('\n');
}

/** The prompt the target session gets for a message told with session_tell. */
export function messagePrompt(from: SessionRef, to: SessionRef, message: string): string {
  return [`[session_ask] A message from session ${nameFor(from, to.user)}, sent with session_tell; it does not wait for a reply.`, '', message].join('\n');
}

/** The asking call was lost in a restart and its turn ended: the answer reaches the asker as a prompt. */
export function lateAnswerPrompt(ask: Ask): string {
  return [
    `The answer to the question you asked session ${nameFor(ask.to, ask.from.user)} with session_ask (request ${ask.requestId}) arrived after that turn had ended (the daemon restarted while you waited).`,
    `Question: ${ask.text}`,
    `Answer: ${ask.answer ?? ''}`,
    'Carry on with what you were doing when you asked.',
  ].join('\n');
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

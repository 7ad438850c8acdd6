import type { Logger } from 'claude-ext/extension';

/**
 * One queue of Telegram calls per chat: calls for a chat run in order, a slow or failing chat
 * delays only itself, and nothing here ever blocks the session engine.
 */
export class ChatOutbox {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly logger: Logger) {}

  /** Runs `task` after the chat's earlier calls; a failure is logged, and the promise resolves all the same. */
  run(chatId: string, task: () => Promise<void>): Promise<void> {
    return this.send(chatId, task).catch((error: unknown) => this.logger.warn('a Telegram call failed', { chat: chatId, error: (error as Error).message }));
  }

  /** Runs `task` after the chat's earlier calls; the promise rejects when it fails (the chat's queue goes on). */
  send(chatId: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(chatId) ?? Promise.resolve();
    const attempt = previous.then(task);
    const next = attempt.catch(() => undefined);
    this.tails.set(chatId, next);
    void next.finally(() => {
      if (this.tails.get(chatId) === next) this.tails.delete(chatId);
    });
    return attempt;
  }

  /** Resolves when every chat's queue is empty. */
  async drained(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

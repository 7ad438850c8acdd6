import type { PromptRecord, QueuedPrompt } from './session-types.ts';

/** How much of a waiting prompt's text is shown. */
const PREVIEW_CHARS = 200;

/**
 * A session's queue as others may see it: the waiting prompts in the order they will run. Silent
 * prompts are an extension's own business and left out; positions count only the prompts listed.
 */
export function waitingPrompts(queue: readonly PromptRecord[]): QueuedPrompt[] {
  return queue
    .filter((prompt) => !prompt.options.silent)
    .map((prompt, index) => ({
      id: prompt.id,
      preview: prompt.text.slice(0, PREVIEW_CHARS),
      position: index + 1,
      queuedAt: prompt.enqueuedAt,
      ...(prompt.fromSession !== undefined ? { fromSession: prompt.fromSession } : {}),
    }));
}

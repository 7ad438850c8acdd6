import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import type { ReadResult, SearchResult } from './memory-book.ts';
import { formatRead, formatSearch } from './format.ts';
import { METHODS } from './protocol.ts';

const pathInput = z.string().min(1).max(512).describe('Relative path of a note, e.g. projects/acme.md; shared/… for the notes all users share');

export const memorySave = defineTool({
  name: 'memory_save',
  description: 'Save a Markdown note to long-term memory. mode "create" (default) refuses an existing note; "replace" overwrites it; "append" adds to its end.',
  input: {
    path: pathInput,
    content: z.string().max(8 * 1024 * 1024).describe('Markdown; start with a "# Title" line'),
    mode: z.enum(['create', 'replace', 'append']).optional(),
    tags: z.array(z.string().min(1).max(64)).max(32).optional().describe('Tags to find the note by'),
  },
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: async (input, ctx) => ctx.bridge.call(METHODS.save, input, { signal: ctx.signal }),
});

export const memoryEdit = defineTool({
  name: 'memory_edit',
  description: 'Replace one exact passage of a note: old_text must occur exactly once in it.',
  input: { path: pathInput, old_text: z.string().min(1), new_text: z.string() },
  annotations: { idempotentHint: false, destructiveHint: true },
  handler: async (input, ctx) => ctx.bridge.call(METHODS.edit, input, { signal: ctx.signal }),
});

export const memorySearch = defineTool({
  name: 'memory_search',
  description: 'Full-text search of your memory (words, "a phrase", prefix*, OR, NOT). Returns the best notes with their matching lines.',
  input: {
    query: z.string().min(1).max(2000),
    scope: z.enum(['mine', 'shared', 'all']).optional().describe('Default all: your notes and the shared ones'),
    tag: z.string().min(1).max(64).optional(),
    limit: z.number().int().min(1).max(50).optional(),
  },
  annotations: { readOnlyHint: true },
  handler: async (input, ctx) => formatSearch(await ctx.bridge.call<SearchResult[]>(METHODS.search, input, { signal: ctx.signal, idempotent: true })),
});

export const memoryRead = defineTool({
  name: 'memory_read',
  description: 'Read a note (optionally from_line and a number of lines), or list a folder\'s notes with titles, sizes and dates ("" lists everything).',
  input: {
    path: z.string().max(512).describe('A note (x.md) or a folder ("", "projects", "shared")'),
    from_line: z.number().int().min(1).optional(),
    lines: z.number().int().min(1).max(100_000).optional(),
  },
  annotations: { readOnlyHint: true },
  handler: async (input, ctx) => formatRead(await ctx.bridge.call<ReadResult>(METHODS.read, input, { signal: ctx.signal, idempotent: true })),
});

export const memoryDelete = defineTool({
  name: 'memory_delete',
  description: 'Delete a note from memory.',
  input: { path: pathInput },
  annotations: { destructiveHint: true },
  handler: async (input, ctx) => ctx.bridge.call(METHODS.delete, input, { signal: ctx.signal }),
});

export const memoryTools = [memorySave, memoryEdit, memorySearch, memoryRead, memoryDelete];

import fs from 'node:fs';
import path from 'node:path';
import { RpcError, RpcErrorCode, type BridgeCall, type Extension } from 'claude-ext/extension';
import { configSchema, type MemoryConfig } from './config.ts';
import { compactionWatch } from './compaction-watch.ts';
import { IndexSync } from './index-sync.ts';
import { MemoryBook, MemoryError, type MemoryCaller } from './memory-book.ts';
import { NoteIndex } from './note-index.ts';
import { NotePathError, parseNotePath } from './note-path.ts';
import { deleteParams, editParams, listParams, METHODS, readParams, saveParams, searchParams } from './protocol.ts';
import { memoryIndexText, recallFor } from './recall.ts';
import { SessionMarks } from './session-marks.ts';
import { memoryTools } from './tools.ts';

/** What other extensions (a chat frontend) use in-process. */
export interface MemoryService {
  search(user: string, query: string, limit?: number): ReturnType<MemoryBook['search']>;
  /** Adds a line to the user's `remembered.md`. */
  remember(user: string, text: string): { path: string };
}

const REMEMBERED = 'remembered.md';

export default (): Extension<MemoryConfig> => {
  let index: NoteIndex | undefined;
  let sync: IndexSync | undefined;
  return {
    name: 'memory',
    description: 'Long-term memory for sessions: Markdown notes with full-text search, recalled when they matter',
    configSchema,
    start(ctx) {
      const root = ctx.config.dir ? ctx.resolvePath(ctx.config.dir) : ctx.dataDir;
      fs.mkdirSync(path.join(root, 'users'), { recursive: true, mode: 0o700 });
      fs.mkdirSync(path.join(root, 'shared'), { recursive: true, mode: 0o700 });
      // A folder of the person's own outside the state dir: no session may read it through the file system.
      if (ctx.config.dir) ctx.hideFromSessions(root);
      const noteIndex = new NoteIndex(path.join(ctx.dataDir, 'index.sqlite'));
      index = noteIndex;
      ctx.track({ dispose: () => noteIndex.close() });
      const noteSync = new IndexSync(root, noteIndex, ctx.logger);
      sync = noteSync;
      const scanned = noteSync.scan();
      ctx.logger.info('memory indexed', { root, notes: scanned.files, reindexed: scanned.indexed, removed: scanned.removed });
      noteSync.watch();
      ctx.track({ dispose: () => noteSync.unwatch() });
      ctx.setInterval(() => noteSync.probe(), 60_000);
      const book = new MemoryBook(root, noteIndex, noteSync, () => ({ maxNoteBytes: ctx.config.max_note_bytes, maxUserBytes: ctx.config.max_user_bytes }));
      const marks = new SessionMarks(path.join(ctx.dataDir, 'sessions.json'));
      marks.keepOnly(new Set(ctx.sessions.list().map((s) => s.id)));

      ctx.addTools({ server: 'memory', tools: memoryTools, withoutApproval: ['memory_save', 'memory_edit'], instructions: 'Long-term memory: Markdown notes that outlive the conversation.' });
      ctx.addSystemPrompt((session) => {
        const mark = marks.get(session.id);
        if (mark.indexText !== undefined) return mark.indexText;
        const text = memoryIndexText(noteIndex, session.user, ctx.config.index_budget);
        marks.update(session.id, { indexText: text });
        return text;
      });
      ctx.addPrePromptHook((session, prompt) => {
        if (prompt.options.silent) return undefined;
        const context: string[] = [];
        if (marks.get(session.id).indexDue) {
          context.push(`Your conversation was compacted. ${memoryIndexText(noteIndex, session.user, ctx.config.index_budget)}`);
          marks.update(session.id, { indexDue: false });
        }
        if (ctx.config.auto_recall) {
          noteSync.settle();
          const recalled = recallFor(book, noteIndex, session.user, prompt.text, { budget: ctx.config.recall_budget, minWords: ctx.config.recall_min_words });
          if (recalled) context.push(recalled);
        }
        return context.length > 0 ? { promptContext: context } : undefined;
      });
      compactionWatch(ctx, marks);

      const caller = (call: BridgeCall, requested: string | undefined): MemoryCaller => {
        const user = call.actingUser(requested);
        return { user, writesShared: (call.principal.kind === 'admin' && call.actingFor === undefined) || ctx.config.shared_writers.includes(user) };
      };
      const guarded = <T>(work: () => T): T => {
        try {
          return work();
        } catch (error) {
          if (error instanceof MemoryError || error instanceof NotePathError) throw new RpcError(RpcErrorCode.InvalidParams, error.message);
          throw error;
        }
      };
      ctx.addBridgeMethod(METHODS.save, { params: saveParams, access: 'any' }, (p, call) => guarded(() => book.save(caller(call, p.user), p.path, p.content, p.mode, p.tags)));
      ctx.addBridgeMethod(METHODS.edit, { params: editParams, access: 'any' }, (p, call) => guarded(() => book.edit(caller(call, p.user), p.path, p.old_text, p.new_text)));
      ctx.addBridgeMethod(METHODS.delete, { params: deleteParams, access: 'any' }, (p, call) => guarded(() => book.delete(caller(call, p.user), p.path)));
      ctx.addBridgeMethod(METHODS.search, { params: searchParams, access: 'any' }, (p, call) =>
        guarded(() => book.search(call.actingUser(p.user), p.query, { scope: p.scope, limit: p.limit, ...(p.tag ? { tag: p.tag } : {}) })),
      );
      ctx.addBridgeMethod(METHODS.read, { params: readParams, access: 'any' }, (p, call) => guarded(() => book.read(call.actingUser(p.user), p.path, p.from_line, p.lines)));
      ctx.addBridgeMethod(METHODS.list, { params: listParams, access: 'any' }, (p, call) =>
        guarded(() => {
          const user = call.actingUser(p.user);
          return book.list(user, parseNotePath(p.path, user, { folder: true }));
        }),
      );

      const service: MemoryService = {
        search: (user, query, limit = 5) => guarded(() => book.search(user, query, { limit })),
        remember: (user, text) =>
          guarded(() => {
            const line = `- ${new Date().toISOString().slice(0, 16).replace('T', ' ')}: ${text.trim()}\n`;
            const exists = book.list(user, { scope: { kind: 'user', user }, path: '' }).some((note) => note.path === REMEMBERED);
            return book.save({ user, writesShared: false }, REMEMBERED, exists ? line : `# Remembered\n\n${line}`, exists ? 'append' : 'create');
          }),
      };
      ctx.provideService('memory', service);
    },
    healthCheck() {
      if (!index) return { status: 'error', reason: 'not started' };
      const detail = `${index.all().length} notes indexed`;
      return sync?.watching ? { status: 'ok', detail } : { status: 'degraded', reason: `${detail}; the folder is not watched, searches scan it first` };
    },
  };
};


import Database from 'better-sqlite3';
import type { NoteRef, NoteScope } from './note-path.ts';
import type { NoteText } from './note-text.ts';

/** A note as the index knows it. */
export interface IndexedNote {
  readonly id: number;
  readonly ref: NoteRef;
  readonly title: string;
  readonly tags: readonly string[];
  readonly size: number;
  readonly mtimeMs: number;
}

export interface IndexHit extends IndexedNote {
  /** BM25 relevance, higher is better. */
  readonly score: number;
  readonly snippet: string;
}

/** Which notes a search looks at. */
export interface SearchScope {
  readonly user?: string;
  readonly shared: boolean;
}

interface NoteRow {
  id: number;
  scope: 'user' | 'shared';
  owner: string;
  path: string;
  title: string;
  tags: string;
  size: number;
  mtime_ms: number;
}

/** Title, headings, body, tags: a word in a title weighs most. */
const BM25 = 'bm25(notes_fts, 8.0, 4.0, 1.0, 4.0)';

/**
 * The full-text index over the notes: a mirror of the files, rebuilt from them whenever it is lost.
 * SQLite FTS5 with the Porter stemmer, ranked by BM25; WAL, so a search never waits for a write.
 */
export class NoteIndex {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS notes (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        owner TEXT NOT NULL,
        path TEXT NOT NULL,
        title TEXT NOT NULL,
        tags TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        UNIQUE (scope, owner, path)
      );
      CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5(title, headings, body, tags, tokenize = 'porter unicode61 remove_diacritics 2');
    `);
    this.statements = {
      find: this.db.prepare<[string, string, string], NoteRow>('SELECT * FROM notes WHERE scope = ? AND owner = ? AND path = ?'),
      insert: this.db.prepare('INSERT INTO notes (scope, owner, path, title, tags, size, mtime_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      update: this.db.prepare('UPDATE notes SET title = ?, tags = ?, size = ?, mtime_ms = ? WHERE id = ?'),
      deleteNote: this.db.prepare('DELETE FROM notes WHERE id = ?'),
      deleteText: this.db.prepare('DELETE FROM notes_fts WHERE rowid = ?'),
      insertText: this.db.prepare('INSERT INTO notes_fts (rowid, title, headings, body, tags) VALUES (?, ?, ?, ?, ?)'),
      body: this.db.prepare<[number], { body: string }>('SELECT body FROM notes_fts WHERE rowid = ?'),
      all: this.db.prepare<[], NoteRow>('SELECT * FROM notes'),
      inScope: this.db.prepare<[string, string], NoteRow>('SELECT * FROM notes WHERE scope = ? AND owner = ? ORDER BY path'),
      bytes: this.db.prepare<[string, string], { total: number | null }>('SELECT SUM(size) AS total FROM notes WHERE scope = ? AND owner = ?'),
    };
  }

  get(ref: NoteRef): IndexedNote | undefined {
    const row = this.statements.find.get(...key(ref));
    return row ? toNote(row) : undefined;
  }

  /** Adds or replaces a note's entry. */
  put(ref: NoteRef, text: NoteText, size: number, mtimeMs: number): void {
    const [scope, owner, path] = key(ref);
    const tags = ` ${text.tags.join(' ')} `;
    this.db.transaction(() => {
      const existing = this.statements.find.get(scope, owner, path);
      let id: number;
      if (existing) {
        id = existing.id;
        this.statements.update.run(text.title, tags, size, mtimeMs, id);
        this.statements.deleteText.run(id);
      } else {
        id = Number(this.statements.insert.run(scope, owner, path, text.title, tags, size, mtimeMs).lastInsertRowid);
      }
      this.statements.insertText.run(id, text.title, text.headings.join('\n'), text.body, text.tags.join(' '));
    })();
  }

  remove(ref: NoteRef): boolean {
    const existing = this.statements.find.get(...key(ref));
    if (!existing) return false;
    this.db.transaction(() => {
      this.statements.deleteText.run(existing.id);
      this.statements.deleteNote.run(existing.id);
    })();
    return true;
  }

  all(): IndexedNote[] {
    return this.statements.all.all().map(toNote);
  }

  list(scope: NoteScope): IndexedNote[] {
    return this.statements.inScope.all(scope.kind, ownerOf(scope)).map(toNote);
  }

  /** Bytes of all notes in a scope. */
  bytes(scope: NoteScope): number {
    return this.statements.bytes.get(scope.kind, ownerOf(scope))?.total ?? 0;
  }

  body(id: number): string {
    return this.statements.body.get(id)?.body ?? '';
  }

  /**
   * Notes matching an FTS5 query, best first. A query FTS5 cannot parse (`"unbalanced`, `a AND`) is
   * searched as its plain words instead.
   */
  search(query: string, where: SearchScope, options: { tag?: string; limit: number; anyWord?: boolean }): IndexHit[] {
    const words = plainWords(query);
    if (options.anyWord) return words.length === 0 ? [] : this.run(words.map(quote).join(' OR '), where, options);
    try {
      return this.run(query, where, options);
    } catch (error) {
      if (!isQueryError(error)) throw error;
      return words.length === 0 ? [] : this.run(words.map(quote).join(' '), where, options);
    }
  }

  /** Of the given notes, those that contain the word (stemmed as the index stems it). */
  containing(word: string, ids: readonly number[]): Set<number> {
    if (ids.length === 0) return new Set();
    const rows = this.db
      .prepare<unknown[], { rowid: number }>(`SELECT rowid FROM notes_fts WHERE notes_fts MATCH ? AND rowid IN (${ids.map(() => '?').join(',')})`)
      .all(quote(word), ...ids);
    return new Set(rows.map((row) => row.rowid));
  }

  /** Empties the index (before a rebuild from the files). */
  clear(): void {
    this.db.exec('DELETE FROM notes; DELETE FROM notes_fts;');
  }

  transaction(work: () => void): void {
    this.db.transaction(work)();
  }

  close(): void {
    this.db.close();
  }

  private run(match: string, where: SearchScope, options: { tag?: string; limit: number }): IndexHit[] {
    const filters: string[] = [];
    const params: unknown[] = [match];
    const scopes: string[] = [];
    if (where.user !== undefined) {
      scopes.push("(n.scope = 'user' AND n.owner = ?)");
      params.push(where.user);
    }
    if (where.shared) scopes.push("n.scope = 'shared'");
    if (scopes.length === 0) return [];
    filters.push(`(${scopes.join(' OR ')})`);
    if (options.tag) {
      filters.push("n.tags LIKE ? ESCAPE '\\'");
      params.push(`% ${options.tag.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)} %`);
    }
    params.push(options.limit);
    const rows = this.db
      .prepare<unknown[], NoteRow & { rank: number; snippet: string }>(
        `SELECT n.*, ${BM25} AS rank, snippet(notes_fts, 2, '**', '**', '…', 16) AS snippet
         FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid
         WHERE notes_fts MATCH ? AND ${filters.join(' AND ')}
         ORDER BY rank LIMIT ?`,
      )
      .all(...params);
    return rows.map((row) => ({ ...toNote(row), score: -row.rank, snippet: row.snippet }));
  }
}

/** The words of a text as the index sees them, without FTS5 syntax. */
export function plainWords(text: string): string[] {
  return [...new Set((text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).filter((word) => !/^(and|or|not|near)$/.test(word)))];
}

function quote(word: string): string {
  return `"${word.replace(/"/g, '""')}"`;
}

function isQueryError(error: unknown): boolean {
  const message = (error as Error).message ?? '';
  return /fts5|syntax error|no such column|unterminated|unknown special query/i.test(message);
}

function key(ref: NoteRef): [string, string, string] {
  return [ref.scope.kind, ownerOf(ref.scope), ref.path];
}

function ownerOf(scope: NoteScope): string {
  return scope.kind === 'user' ? scope.user : '';
}

function toNote(row: NoteRow): IndexedNote {
  return {
    id: row.id,
    ref: { scope: row.scope === 'shared' ? { kind: 'shared' } : { kind: 'user', user: row.owner }, path: row.path },
    title: row.title,
    tags: row.tags.trim() ? row.tags.trim().split(' ') : [],
    size: row.size,
    mtimeMs: row.mtime_ms,
  };
}

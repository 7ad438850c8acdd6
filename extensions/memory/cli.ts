import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CommandContext, ExtensionCommand } from 'claude-ext/extension';
import type { NoteListing, ReadResult, SearchResult } from './memory-book.ts';
import { METHODS } from './protocol.ts';
import { formatRead, formatSearch } from './format.ts';

const USAGE = `memory list [PATH] | search QUERY | show PATH | edit PATH | rm PATH | import DIR | export DIR   [--user U] [--json]
    list [PATH]                 notes of a folder ("" = all of the user's; shared = the shared ones)
    search QUERY [--scope mine|shared|all] [--tag T] [--limit N]
    show PATH [--from N] [--lines N]
    edit PATH                   opens $EDITOR; or --old TEXT --new TEXT to replace one passage
    rm PATH
    import DIR [--replace]      every .md under DIR, to the same relative paths (under shared/ with --shared)
    export DIR                  the user's notes (and the shared ones under DIR/shared) as files`;

const OPTIONS = {
  user: { type: 'string' },
  json: { type: 'boolean' },
  scope: { type: 'string' },
  tag: { type: 'string' },
  limit: { type: 'string' },
  from: { type: 'string' },
  lines: { type: 'string' },
  old: { type: 'string' },
  new: { type: 'string' },
  replace: { type: 'boolean' },
  shared: { type: 'boolean' },
} as const;

const memory: ExtensionCommand = {
  name: 'memory',
  usage: USAGE,
  async run(ctx) {
    const { values, positionals } = parseArgs({ args: [...ctx.args], options: OPTIONS, allowPositionals: true });
    const [action, ...rest] = positionals;
    const user = values.user ? { user: values.user } : {};
    const print = (value: unknown, text: string): void => ctx.out(values.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
    const need = (what: string): string | undefined => {
      const value = rest.join(' ').trim();
      if (!value) ctx.err(`claude-ext: memory ${action} needs ${what}\n`);
      return value || undefined;
    };
    switch (action) {
      case 'list': {
        const notes = await ctx.call<NoteListing[]>(METHODS.list, { path: rest[0] ?? '', ...user });
        print(notes, notes.length === 0 ? 'no notes' : notes.map((n) => `${n.path}  ${n.title}  ${n.size} B  ${n.modified}`).join('\n'));
        return 0;
      }
      case 'search': {
        const query = need('a QUERY');
        if (!query) return 2;
        const results = await ctx.call<SearchResult[]>(METHODS.search, { query, ...user, ...(values.scope ? { scope: values.scope } : {}), ...(values.tag ? { tag: values.tag } : {}), ...(values.limit ? { limit: Number(values.limit) } : {}) });
        print(results, formatSearch(results));
        return 0;
      }
      case 'show': {
        const notePath = need('a PATH');
        if (!notePath) return 2;
        const result = await ctx.call<ReadResult>(METHODS.read, { path: notePath, ...user, ...(values.from ? { from_line: Number(values.from) } : {}), ...(values.lines ? { lines: Number(values.lines) } : {}) });
        print(result, result.kind === 'note' && !values.json ? result.text : formatRead(result));
        return 0;
      }
      case 'edit':
        return edit(ctx, rest[0], user, values);
      case 'rm': {
        const notePath = need('a PATH');
        if (!notePath) return 2;
        const removed = await ctx.call<{ path: string }>(METHODS.delete, { path: notePath, ...user });
        print(removed, `removed ${removed.path}`);
        return 0;
      }
      case 'import':
        return importDir(ctx, rest[0], user, values.replace === true, values.shared === true);
      case 'export':
        return exportDir(ctx, rest[0], user);
      default:
        ctx.err(`claude-ext: memory needs one of list, search, show, edit, rm, import, export\n${USAGE}\n`);
        return 2;
    }
  },
};

async function edit(ctx: CommandContext, notePath: string | undefined, user: { user?: string }, values: { old?: string; new?: string }): Promise<number> {
  if (!notePath) {
    ctx.err('claude-ext: memory edit needs a PATH\n');
    return 2;
  }
  if (values.old !== undefined || values.new !== undefined) {
    if (values.old === undefined || values.new === undefined) {
      ctx.err('claude-ext: memory edit needs both --old and --new\n');
      return 2;
    }
    const edited = await ctx.call<{ path: string }>(METHODS.edit, { path: notePath, old_text: values.old, new_text: values.new, ...user });
    ctx.out(`edited ${edited.path}\n`);
    return 0;
  }
  const current = await readWhole(ctx, notePath, user).catch(() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claude-ext-memory-'));
  const file = path.join(dir, path.basename(notePath));
  try {
    fs.writeFileSync(file, current ?? `# ${path.basename(notePath, '.md')}\n\n`, { mode: 0o600 });
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    // As git does: the variable may hold a command with its own arguments (`code --wait`).
    const ran = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' });
    if (ran.status !== 0) {
      ctx.err(`claude-ext: ${editor} ended with ${ran.status ?? ran.signal}; the note is unchanged\n`);
      return 1;
    }
    const text = fs.readFileSync(file, 'utf8');
    if (text === current) {
      ctx.out('unchanged\n');
      return 0;
    }
    const saved = await ctx.call<{ path: string }>(METHODS.save, { path: notePath, content: text, mode: 'replace', ...user });
    ctx.out(`saved ${saved.path}\n`);
    return 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function readWhole(ctx: CommandContext, notePath: string, user: { user?: string }): Promise<string> {
  const result = await ctx.call<ReadResult>(METHODS.read, { path: notePath, lines: 10_000_000, ...user });
  if (result.kind !== 'note') throw new Error(`${notePath} is a folder`);
  return result.totalLines === 0 ? '' : `${result.text}\n`;
}

async function importDir(ctx: CommandContext, dir: string | undefined, user: { user?: string }, replace: boolean, shared: boolean): Promise<number> {
  if (!dir || !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    ctx.err(`claude-ext: memory import needs a folder${dir ? `; ${dir} is not one` : ''}\n`);
    return 2;
  }
  let imported = 0;
  let failed = 0;
  for (const relative of markdownFiles(dir, '')) {
    const target = shared ? `shared/${relative}` : relative;
    try {
      await ctx.call(METHODS.save, { path: target, content: fs.readFileSync(path.join(dir, relative), 'utf8'), mode: replace ? 'replace' : 'create', ...user });
      imported += 1;
    } catch (error) {
      failed += 1;
      ctx.err(`${relative}: ${(error as Error).message}\n`);
    }
  }
  ctx.out(`imported ${imported} note${imported === 1 ? '' : 's'}${failed ? `, ${failed} not (see above)` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

async function exportDir(ctx: CommandContext, dir: string | undefined, user: { user?: string }): Promise<number> {
  if (!dir) {
    ctx.err('claude-ext: memory export needs a folder to write to\n');
    return 2;
  }
  const notes = [...(await ctx.call<NoteListing[]>(METHODS.list, { path: '', ...user })), ...(await ctx.call<NoteListing[]>(METHODS.list, { path: 'shared', ...user }))];
  for (const note of notes) {
    const file = path.join(dir, ...note.path.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, await readWhole(ctx, note.path, user));
  }
  ctx.out(`exported ${notes.length} note${notes.length === 1 ? '' : 's'} to ${dir}\n`);
  return 0;
}

function* markdownFiles(dir: string, prefix: string): Generator<string> {
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.isSymbolicLink()) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* markdownFiles(dir, relative);
    else if (entry.isFile() && entry.name.endsWith('.md')) yield relative;
  }
}

export const commands: ExtensionCommand[] = [memory];

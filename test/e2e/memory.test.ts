/**
 * memory end to end: the real claude CLI saves, searches and reads notes through the memory tools;
 * notes edited by hand are found by their new words; recall and the flush before compaction reach
 * the model and never the person's frontend; restarts and a lost index keep everything.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.ts';

const TOKEN = '123456789:AAMemoryTokenForTheTestsOnly_0123456';
const ERIN = { id: 4242, first_name: 'Erin' };

/** Records every event delivery callbacks get: what a frontend could have shown. */
const RECORDER = `
import fs from 'node:fs';
import path from 'node:path';
export default () => ({
  name: 'event_recorder',
  description: 'records what delivery callbacks get',
  start(ctx) {
    const file = path.join(ctx.dataDir, 'events.log');
    ctx.onEvent((event) => fs.appendFileSync(file, JSON.stringify({ type: event.type, prompt: event.promptId, text: event.type === 'result' ? event.result.text : event.type === 'text' ? event.text : undefined }) + '\\n'));
  },
});
`;

const FLUSH_SCRIPT = '@tool mcp__memory__memory_save {"path":"flushed.md","content":"# Before compaction\\nthe launch code word is heliotrope"}\n@reply flushed into memory';

describe('memory', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;
  let telegram: FakeTelegram;
  const cli = (args: string[]) => runCli(world, [...args, '--config', config]);
  const notesDir = (): string => path.join(world.stateDir, 'data', 'memory');
  const prompt = async (user: string, text: string, session?: string): Promise<{ text: string; sessionId: string; promptId: string }> => {
    const run = await cli(['prompt', '--user', user, '--json', ...(session ? ['--session', session] : ['--new']), text]);
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; sessionId: string; promptId: string; result?: { text: string } });
    const result = events.find((e) => e.type === 'result');
    assert.ok(result, run.stdout);
    return { text: result.result?.text ?? '', sessionId: result.sessionId, promptId: result.promptId };
  };
  const tool = (name: string, input: Record<string, unknown>): string => `@tool mcp__memory__${name} ${JSON.stringify(input)}\n@echo-tool`;
  const search = async (query: string, user = 'alice'): Promise<{ path: string; lines: { line: number; text: string }[] }[]> => {
    const run = await cli(['memory', 'search', query, '--user', user, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as { path: string; lines: { line: number; text: string }[] }[];
  };
  const recorded = (): { type: string; prompt?: string; text?: string }[] => {
    const file = path.join(world.stateDir, 'data', 'event_recorder', 'events.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; prompt?: string; text?: string }) : [];
  };

  before(async () => {
    world = await createWorld('memory');
    telegram = await startFakeTelegram({ token: TOKEN });
    const extensions = path.join(world.root, 'extensions');
    fs.mkdirSync(path.join(extensions, 'event_recorder'), { recursive: true });
    fs.writeFileSync(path.join(extensions, 'event_recorder', 'extension.js'), RECORDER);
    config = writeConfig(
      world,
      ['  max_per_user: 50', `extensions_dirs: [${extensions}]`, 'enabled: [memory, event_recorder, telegram]', 'extensions:', '  telegram:', `    token: ${TOKEN}`, `    allowed_users: [${ERIN.id}]`, `    api_root: ${telegram.apiRoot}`, '  memory:', '    max_note_bytes: 4KiB', `    flush_prompt: ${JSON.stringify(FLUSH_SCRIPT)}`, ''].join('\n'),
    );
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await telegram.close();
    if (process.env.KEEP_WORLD) console.log('kept', world.root);
    else await world.cleanup();
  });

  test('a session saves a note; another session of the user finds and reads it; another user cannot', async () => {
    const saved = await prompt('alice', tool('memory_save', { path: 'projects/acme.md', content: '# Acme deploys\n\nStaging deploys go out on Tuesdays.\nThe database is postgres 16.', tags: ['acme'] }));
    assert.match(saved.text, /"created": true/);
    assert.ok(fs.existsSync(path.join(notesDir(), 'users', 'alice', 'projects', 'acme.md')));

    const found = await prompt('alice', tool('memory_search', { query: 'staging deploy' }));
    assert.match(found.text, /1\. projects\/acme\.md — Acme deploys/);
    assert.match(found.text, /\d+: Staging deploys go out on Tuesdays\./);
    const read = await prompt('alice', tool('memory_read', { path: 'projects/acme.md' }));
    assert.match(read.text, /The database is postgres 16\./);
    const folder = await prompt('alice', tool('memory_read', { path: 'projects' }));
    assert.match(folder.text, /projects\/acme\.md — Acme deploys \(\d+ bytes/);

    const bobSearch = await prompt('bob', tool('memory_search', { query: 'staging deploy' }));
    assert.equal(bobSearch.text, 'no notes match');
    const bobRead = await prompt('bob', tool('memory_read', { path: 'projects/acme.md' }));
    assert.match(bobRead.text, /projects\/acme\.md does not exist/);
  });

  test('memory_edit replaces one passage, and names how often an ambiguous one occurs', async () => {
    await cli(['memory', 'rm', 'edit.md', '--user', 'carol']);
    const saved = await prompt('carol', tool('memory_save', { path: 'edit.md', content: '# Edit me\nred\nred\nblue' }));
    assert.match(saved.text, /"created": true/);
    const twice = await prompt('carol', tool('memory_edit', { path: 'edit.md', old_text: 'red', new_text: 'green' }));
    assert.match(twice.text, /old_text occurs 2 times in edit\.md; it must occur exactly once/);
    const edited = await prompt('carol', tool('memory_edit', { path: 'edit.md', old_text: 'blue', new_text: 'violet' }));
    assert.match(edited.text, /"path": "edit\.md"/);
    assert.equal(fs.readFileSync(path.join(notesDir(), 'users', 'carol', 'edit.md'), 'utf8'), '# Edit me\nred\nred\nviolet\n');
  });

  test('a note edited, moved or deleted by hand is seen by the very next search', async () => {
    // Each search applies the changes the watcher saw first: the first search after a write finds it.
    const file = path.join(notesDir(), 'users', 'alice', 'hand.md');
    fs.writeFileSync(file, '# Hand written\nthe espresso machine is descaled monthly\n');
    assert.deepEqual((await search('espresso')).map((r) => [r.path, r.lines]), [['hand.md', [{ line: 2, text: 'the espresso machine is descaled monthly' }]]]);
    fs.writeFileSync(file, '# Hand written\nthe kettle is descaled weekly\n');
    assert.deepEqual((await search('kettle')).map((r) => r.path), ['hand.md']);
    assert.deepEqual(await search('espresso'), []);
    fs.renameSync(file, path.join(notesDir(), 'users', 'alice', 'moved.md'));
    assert.deepEqual((await search('kettle')).map((r) => r.path), ['moved.md']);
    fs.rmSync(path.join(notesDir(), 'users', 'alice', 'moved.md'));
    assert.deepEqual(await search('kettle'), []);
  });

  test('traversal, oversized notes and bad queries get their errors; nothing is written', async () => {
    const before = fs.readdirSync(path.join(notesDir(), 'users', 'alice'), { recursive: true }).sort();
    const traversal = await prompt('alice', tool('memory_save', { path: '../bob/evil.md', content: 'x' }));
    assert.match(traversal.text, /"\.\." is not allowed/);
    const absolute = await prompt('alice', tool('memory_save', { path: '/etc/evil.md', content: 'x' }));
    assert.match(absolute.text, /must be relative/);
    const notMarkdown = await prompt('alice', tool('memory_save', { path: 'script.sh', content: 'x' }));
    assert.match(notMarkdown.text, /a note is a \.md file/);
    const big = await prompt('alice', tool('memory_save', { path: 'big.md', content: 'y'.repeat(5000) }));
    assert.match(big.text, /a note is at most 4096 bytes \(memory\.max_note_bytes\)/);
    const shared = await prompt('alice', tool('memory_save', { path: 'shared/team.md', content: '# Team' }));
    assert.match(shared.text, /read-only for alice \(memory\.shared_writers/);
    fs.symlinkSync('/etc', path.join(notesDir(), 'users', 'alice', 'outside'));
    try {
      const viaLink = await cli(['memory', 'show', 'outside/passwd.md', '--user', 'alice']);
      assert.match(viaLink.stderr, /leads out of the memory folder through a symbolic link/);
    } finally {
      fs.rmSync(path.join(notesDir(), 'users', 'alice', 'outside'));
    }
    assert.deepEqual(fs.readdirSync(path.join(notesDir(), 'users', 'alice'), { recursive: true }).sort(), before);
    assert.equal(fs.existsSync(path.join(notesDir(), 'shared', 'team.md')), false);
    // FTS5 syntax it cannot parse is searched as plain words.
    assert.equal((await search('"staging AND')).at(0)?.path, 'projects/acme.md');
  });

  test('auto recall adds the matching note to the prompt the model receives', async () => {
    const reply = await prompt('alice', '@echo\nwhich postgres version does the staging database run?');
    assert.match(reply.text, /From your memory/);
    assert.match(reply.text, /projects\/acme\.md — Acme deploys/);
    const unrelated = await prompt('alice', '@echo\nwrite a haiku about autumn leaves');
    assert.doesNotMatch(unrelated.text, /From your memory/);
    // The system prompt carries the index of the user's notes.
    const request = world.api.conversationRequests().at(-1);
    assert.match(JSON.stringify(request?.system), /projects\/acme\.md: Acme deploys/);
  });

  test('a context near its limit gets one silent turn that saves a note; its text never reaches a frontend', async () => {
    const full = await prompt('dave', '@context 850000\n@reply a long conversation');
    const flush = await waitFor('the flush turn', () => readEventLog(world).find((e) => e.type === 'memory_flush_done' && e.session === full.sessionId), 30_000);
    assert.equal(flush.outcome, 'success');
    assert.match(String(flush.text), /flushed into memory/);
    assert.match(fs.readFileSync(path.join(notesDir(), 'users', 'dave', 'flushed.md'), 'utf8'), /heliotrope/);
    const flushPrompt = String(flush.prompt);
    assert.ok(recorded().some((e) => e.prompt === full.promptId && e.type === 'result'), 'the recorder sees ordinary results');
    assert.deepEqual(recorded().filter((e) => e.prompt === flushPrompt || /flushed into memory/.test(e.text ?? '')), []);
    // Once per compaction: the next full turn does not flush again.
    await prompt('dave', '@context 900000\n@reply still long', full.sessionId);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(readEventLog(world).filter((e) => e.type === 'memory_flush' && e.session === full.sessionId).length, 1);
  });

  test('after a compaction the next prompt gets the memory index again', async () => {
    const first = await prompt('alice', '@reply one');
    for (const word of ['two', 'three']) await prompt('alice', `@reply ${word}`, first.sessionId);
    await prompt('alice', '/compact', first.sessionId);
    await waitFor('the compaction', () => readEventLog(world).find((e) => e.type === 'memory_compacted' && e.session === first.sessionId), 20_000);
    const after = await prompt('alice', '@echo\nhello again', first.sessionId);
    assert.match(after.text, /Your conversation was compacted/);
    assert.match(after.text, /projects\/acme\.md: Acme deploys/);
    const later = await prompt('alice', '@echo\nhello once more', first.sessionId);
    assert.equal(later.text.split('Your conversation was compacted').length - 1, 1, 'only the first prompt after the compaction carries the index');
  });

  test('the terminal imports a folder of notes, edits one, and exports them all', async () => {
    const source = path.join(world.root, 'to-import');
    fs.mkdirSync(path.join(source, 'team'), { recursive: true });
    fs.writeFileSync(path.join(source, 'team', 'oncall.md'), '# On call\nThe pager rotates on Mondays.\n');
    fs.writeFileSync(path.join(source, 'ideas.md'), '# Ideas\nA quieter build.\n');
    fs.writeFileSync(path.join(source, 'notes.txt'), 'not a note');
    const imported = await cli(['memory', 'import', source, '--user', 'frank']);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported 2 notes/);
    const again = await cli(['memory', 'import', source, '--user', 'frank']);
    assert.equal(again.code, 1, 'an import does not overwrite notes unless told to');
    assert.match(again.stderr, /already exists/);
    assert.deepEqual((await search('pager', 'frank')).map((r) => r.path), ['team/oncall.md']);

    const edited = await cli(['memory', 'edit', 'team/oncall.md', '--old', 'Mondays', '--new', 'Tuesdays', '--user', 'frank']);
    assert.equal(edited.code, 0, edited.stderr);
    const viaEditor = await runCli(world, ['memory', 'edit', 'ideas.md', '--user', 'frank', '--config', config], {
      env: { ...world.env, EDITOR: `${process.execPath} -e "require('fs').appendFileSync(process.argv[1], 'And faster tests.\\n')"` },
    });
    assert.equal(viaEditor.code, 0, viaEditor.stderr);

    const target = path.join(world.root, 'exported');
    const exported = await cli(['memory', 'export', target, '--user', 'frank']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(fs.readFileSync(path.join(target, 'team', 'oncall.md'), 'utf8'), '# On call\nThe pager rotates on Tuesdays.\n');
    assert.equal(fs.readFileSync(path.join(target, 'ideas.md'), 'utf8'), '# Ideas\nA quieter build.\nAnd faster tests.\n');
  });

  test('Telegram: /remember keeps a line in the person\'s memory, /memory finds it', async () => {
    const botSays = async (text: string, expected: RegExp): Promise<string> => {
      const before = telegram.messages(ERIN.id).length;
      telegram.injectMessage({ from: ERIN, text });
      const answer = await waitFor(`the bot's answer to ${text}`, () => telegram.messages(ERIN.id).slice(before).find((m) => m.sender === 'bot')?.text);
      assert.match(answer, expected);
      return answer;
    };
    await botSays('/remember the gate code is 4711', /Kept in remembered\.md/);
    await botSays('/remember the bins go out on Thursday', /Kept in remembered\.md/);
    const shown = await cli(['memory', 'show', 'remembered.md', '--user', `tg:${ERIN.id}`]);
    assert.match(shown.stdout, /^# Remembered\n\n- .*: the gate code is 4711\n- .*: the bins go out on Thursday\n$/);
    await botSays('/memory gate code', /Remembered remembered\.md\n {2}3: - .*the gate code is 4711/);
    await botSays('/memory espresso', /Nothing in your memory matches/);
    // Another person's notes are not Erin's.
    assert.deepEqual(await search('gate code', 'alice'), []);
  });

  test('a restart keeps everything; the index is rebuilt from the files when deleted', async () => {
    await daemon.kill();
    for (const name of fs.readdirSync(path.join(world.stateDir, 'data', 'memory'))) {
      if (name.startsWith('index.sqlite')) fs.rmSync(path.join(world.stateDir, 'data', 'memory', name));
    }
    daemon = await startDaemonProcess(world, ['--config', config]);
    assert.equal((await search('postgres')).at(0)?.path, 'projects/acme.md');
    assert.equal((await search('heliotrope', 'dave')).at(0)?.path, 'flushed.md');
    const listed = await cli(['memory', 'list', '--user', 'carol']);
    assert.match(listed.stdout, /edit\.md {2}Edit me/);
  });
});

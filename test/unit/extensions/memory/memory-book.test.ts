import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { alice, bob, memoryFixture, terminal, type MemoryFixture } from './memory-fixture.ts';

describe('MemoryBook', () => {
  let memory: MemoryFixture;
  const file = (...parts: string[]): string => path.join(memory.root, ...parts);
  beforeEach(() => {
    memory = memoryFixture({ maxNoteBytes: 2000, maxUserBytes: 5000 });
  });
  afterEach(() => memory.close());

  test('save creates, refuses to create twice, replaces and appends; tags go into the front matter', () => {
    assert.deepEqual(memory.book.save(alice, 'projects/acme.md', '# Acme\nfirst', 'create', ['Work']), { path: 'projects/acme.md', bytes: 34, created: true });
    assert.equal(fs.readFileSync(file('users', 'alice', 'projects', 'acme.md'), 'utf8'), '---\ntags: [work]\n---\n# Acme\nfirst\n');
    assert.throws(() => memory.book.save(alice, 'projects/acme.md', 'again', 'create'), /already exists: use mode "replace" or "append"/);
    memory.book.save(alice, 'projects/acme.md', 'second', 'append');
    assert.match(fs.readFileSync(file('users', 'alice', 'projects', 'acme.md'), 'utf8'), /first\nsecond\n$/);
    memory.book.save(alice, 'projects/acme.md', '# Acme\nreplaced', 'replace');
    assert.equal(fs.readFileSync(file('users', 'alice', 'projects', 'acme.md'), 'utf8'), '# Acme\nreplaced\n');
    assert.deepEqual(memory.index.get({ scope: { kind: 'user', user: 'alice' }, path: 'projects/acme.md' })?.title, 'Acme');
  });

  test('edit needs the old text exactly once and says how often it occurs', () => {
    memory.book.save(alice, 'a.md', 'red red blue', 'create');
    assert.throws(() => memory.book.edit(alice, 'a.md', 'red', 'x'), /old_text occurs 2 times in a\.md; it must occur exactly once/);
    assert.throws(() => memory.book.edit(alice, 'a.md', 'green', 'x'), /old_text occurs 0 times/);
    assert.throws(() => memory.book.edit(alice, 'missing.md', 'a', 'b'), /missing\.md does not exist/);
    memory.book.edit(alice, 'a.md', 'blue', '$& $1 violet');
    assert.equal(fs.readFileSync(file('users', 'alice', 'a.md'), 'utf8'), 'red red $& $1 violet\n');
  });

  test('limits: a note and a user\'s memory; nothing is written past them', () => {
    assert.throws(() => memory.book.save(alice, 'big.md', 'x'.repeat(2100), 'create'), /big\.md would be 2101 bytes; a note is at most 2000 bytes \(memory\.max_note_bytes\)/);
    assert.equal(fs.existsSync(file('users', 'alice', 'big.md')), false);
    for (const n of [1, 2]) memory.book.save(alice, `n${n}.md`, 'y'.repeat(1900), 'create');
    assert.throws(() => memory.book.save(alice, 'n3.md', 'y'.repeat(1900), 'create'), /alice's memory would take 5703 bytes; it may take at most 5000 \(memory\.max_user_bytes\)/);
    assert.equal(fs.existsSync(file('users', 'alice', 'n3.md')), false);
    // Replacing a note counts its new size instead of its old one, and other users have their own room.
    memory.book.save(alice, 'n2.md', 'short', 'replace');
    memory.book.save(bob, 'n1.md', 'y'.repeat(1900), 'create');
  });

  test('paths stay in the user\'s folder; the shared folder is for its writers', () => {
    assert.throws(() => memory.book.save(alice, '../bob/x.md', 'x', 'create'), /"\.\." is not allowed/);
    assert.throws(() => memory.book.save(alice, '/etc/x.md', 'x', 'create'), /must be relative/);
    assert.throws(() => memory.book.save(alice, 'x.txt', 'x', 'create'), /a note is a \.md file/);
    assert.throws(() => memory.book.save(alice, '.hidden/x.md', 'x', 'create'), /is not a plain name/);
    assert.throws(() => memory.book.save(alice, 'shared/team.md', 'x', 'create'), /read-only for alice \(memory\.shared_writers/);
    memory.book.save(terminal, 'shared/team.md', '# Team\nstandup at nine', 'create');
    fs.symlinkSync('/etc', file('users', 'alice-link'));
    fs.mkdirSync(file('users', 'alice'), { recursive: true });
    fs.symlinkSync('/etc', file('users', 'alice', 'etc'));
    assert.throws(() => memory.book.read('alice', 'etc/passwd.md'), /leads out of the memory folder through a symbolic link/);
    assert.throws(() => memory.book.save(alice, 'etc/evil.md', 'x', 'create'), /leads out of the memory folder/);
    assert.deepEqual(fs.readdirSync(file('users', 'alice')), ['etc']);
  });

  test('search ranks, shows matching lines, keeps to the user and the shared notes, filters by tag', () => {
    memory.book.save(alice, 'deploy.md', '# Deploying\n\nStaging deploys run on Tuesdays.\nProduction needs a review.', 'create', ['ops']);
    memory.book.save(alice, 'food.md', '# Lunch\nTuesdays are taco days.', 'create');
    memory.book.save(bob, 'deploy.md', '# Bob deploys\nstaging staging staging', 'create');
    memory.book.save(terminal, 'shared/runbook.md', '# Runbook\nA staging deploy needs the VPN.', 'create');
    const results = memory.book.search('alice', 'staging deploy');
    assert.deepEqual(results.map((r) => r.path).sort(), ['deploy.md', 'shared/runbook.md']);
    const deploy = results.find((r) => r.path === 'deploy.md');
    assert.deepEqual(deploy?.lines, [{ line: 4, text: '# Deploying' }, { line: 6, text: 'Staging deploys run on Tuesdays.' }]);
    assert.deepEqual(memory.book.search('alice', 'staging', { scope: 'mine' }).map((r) => r.path), ['deploy.md']);
    assert.deepEqual(memory.book.search('alice', 'staging', { scope: 'shared' }).map((r) => r.path), ['shared/runbook.md']);
    assert.deepEqual(memory.book.search('alice', 'tuesdays', { tag: 'ops' }).map((r) => r.path), ['deploy.md']);
    // Syntax FTS5 cannot parse is searched as plain words; stemming finds other forms of a word.
    assert.deepEqual(memory.book.search('alice', '"staging AND (', { scope: 'mine' }).map((r) => r.path), ['deploy.md']);
    assert.deepEqual(memory.book.search('alice', 'deployed', { scope: 'mine' }).map((r) => r.path), ['deploy.md']);
    assert.throws(() => memory.book.search('alice', '   '), /query: must not be empty/);
  });

  test('a tag with _ or % is matched as written, not as a pattern', () => {
    memory.book.save(alice, 'a.md', '# A\nplanning notes', 'create', ['my_tag']);
    memory.book.save(alice, 'b.md', '# B\nplanning notes', 'create', ['myxtag']);
    memory.book.save(alice, 'c.md', '# C\nplanning notes', 'create', ['mytag']);
    assert.deepEqual(memory.book.search('alice', 'planning', { tag: 'my_tag' }).map((r) => r.path), ['a.md']);
    assert.deepEqual(memory.book.search('alice', 'planning', { tag: 'my%' }).map((r) => r.path), []);
  });

  test('read gives a range of lines, or lists a folder; delete removes the note and its empty folders', () => {
    memory.book.save(alice, 'p/q/long.md', Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n'), 'create');
    const part = memory.book.read('alice', 'p/q/long.md', 3, 2);
    assert.deepEqual(part.kind === 'note' && [part.fromLine, part.toLine, part.totalLines, part.text], [3, 4, 10, 'line 3\nline 4']);
    const folder = memory.book.read('alice', 'p');
    assert.deepEqual(folder.kind === 'folder' && folder.notes.map((n) => [n.path, n.title]), [['p/q/long.md', 'long']]);
    assert.deepEqual(memory.book.delete(alice, 'p/q/long.md'), { path: 'p/q/long.md' });
    assert.equal(fs.existsSync(file('users', 'alice', 'p')), false);
    assert.deepEqual(memory.book.search('alice', 'line'), []);
    assert.throws(() => memory.book.delete(alice, 'p/q/long.md'), /does not exist/);
  });

  test('a user id that is not a plain folder name gets an encoded folder of its own', () => {
    const odd = { user: '../../etc', writesShared: false };
    memory.book.save(odd, 'x.md', '# odd', 'create');
    assert.deepEqual(fs.readdirSync(file('users')).filter((name) => name.startsWith('~')).length, 1);
    assert.deepEqual(memory.book.search('../../etc', 'odd').map((r) => r.path), ['x.md']);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { memoryIndexText, recallFor } from '../../../../extensions/memory/recall.ts';
import { alice, bob, memoryFixture, terminal, type MemoryFixture } from './memory-fixture.ts';

describe('recall', () => {
  let memory: MemoryFixture;
  beforeEach(() => {
    memory = memoryFixture();
    memory.book.save(alice, 'db.md', '# Database\nThe staging database runs postgres 16.\nBackups run nightly.', 'create');
    memory.book.save(alice, 'pets.md', '# Pets\nThe cat is called Miso.', 'create');
    memory.book.save(bob, 'secret.md', '# Bob\nstaging database password hint', 'create');
    memory.book.save(terminal, 'shared/vpn.md', '# VPN\nThe staging database needs the VPN.', 'create');
  });
  afterEach(() => memory.close());
  const recall = (prompt: string, budget = 1536, minWords = 2): string | undefined => recallFor(memory.book, memory.index, 'alice', prompt, { budget, minWords });

  test('a note holding enough of the prompt\'s words is recalled with its matching lines; other users\' never', () => {
    const text = recall('which postgres version does the staging database run?') ?? '';
    assert.match(text, /^From your memory/);
    assert.match(text, /- db\.md — Database\n(.*\n)* {2}2: The staging database runs postgres 16\./);
    assert.match(text, /shared\/vpn\.md/);
    assert.doesNotMatch(text, /Bob|password/);
  });

  test('nothing is added when no note holds enough of the words, or the prompt has none worth searching', () => {
    assert.equal(recall('tell me about the database of my dreams and nothing else', 1536, 3), undefined);
    assert.equal(recall('write a haiku about autumn'), undefined);
    assert.equal(recall('what is it?'), undefined);
  });

  test('the recall stays within its budget', () => {
    for (let i = 0; i < 30; i += 1) memory.book.save(alice, `db${i}.md`, `# Database ${i}\n${'the staging database is fine. '.repeat(5)}`, 'create');
    const text = recall('staging database', 600) ?? '';
    assert.ok(Buffer.byteLength(text) <= 600, String(Buffer.byteLength(text)));
    assert.match(text, /^From your memory/);
  });

  test('the index lists the user\'s and the shared titles, newest first, within its budget', () => {
    const age = (file: string, minutes: number): void => {
      const when = new Date(Date.now() - minutes * 60_000);
      fs.utimesSync(path.join(memory.root, file), when, when);
    };
    age('users/alice/db.md', 30);
    age('users/alice/pets.md', 20);
    age('shared/vpn.md', 10);
    memory.sync.scan();
    const text = memoryIndexText(memory.index, 'alice', 2048);
    assert.match(text, /memory_save/);
    assert.match(text, /- shared\/vpn\.md: VPN\n- pets\.md: Pets\n- db\.md: Database/);
    assert.doesNotMatch(text, /secret/);
    for (let i = 0; i < 200; i += 1) memory.book.save(alice, `n${i}.md`, `# Note number ${i}`, 'create');
    const bounded = memoryIndexText(memory.index, 'alice', 1024);
    assert.ok(Buffer.byteLength(bounded) <= 1024, `${Buffer.byteLength(bounded)} bytes`);
    assert.match(bounded, /\(\d+ more: memory_search finds them\)$/);
  });
});

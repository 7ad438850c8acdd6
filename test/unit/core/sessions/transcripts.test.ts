import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adoptTranscript, conversationStored } from '../../../../core/sessions/claude/transcripts.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'transcripts-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test("a conversation stored under the daemon's HOME moves into the user's own, with its side files", () => {
  const daemonHome = { HOME: path.join(root, 'daemon') };
  const userHome = { HOME: path.join(root, 'user') };
  const project = path.join(root, 'daemon', '.claude', 'projects', '-srv-app');
  fs.mkdirSync(path.join(project, 'conv-1', 'tool-results'), { recursive: true });
  fs.writeFileSync(path.join(project, 'conv-1.jsonl'), '{"type":"user"}\n');
  fs.writeFileSync(path.join(project, 'conv-1', 'tool-results', 'a.txt'), 'big output');
  assert.equal(conversationStored(userHome, 'conv-1'), false);
  assert.equal(adoptTranscript(daemonHome, userHome, 'conv-1'), true);
  assert.equal(conversationStored(userHome, 'conv-1'), true);
  assert.equal(fs.readFileSync(path.join(root, 'user', '.claude', 'projects', '-srv-app', 'conv-1', 'tool-results', 'a.txt'), 'utf8'), 'big output');
  assert.equal(adoptTranscript(daemonHome, userHome, 'conv-2'), false, 'nothing to adopt');
  assert.equal(adoptTranscript(daemonHome, daemonHome, 'conv-1'), false, 'the same HOME');
});

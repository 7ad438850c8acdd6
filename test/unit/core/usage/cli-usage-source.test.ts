import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { findClaudeBinary } from '../../../../core/sessions/claude/claude-binary.ts';
import { CliUsageSource } from '../../../../core/usage/cli-usage-source.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'usage-cli-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('a reading through the real CLI runs no hook of a project a session could write, and leaves no directory behind', async () => {
  const claude = findClaudeBinary(null, process.env.PATH);
  assert.ok(claude, 'the claude CLI is installed with the package');
  // The reading runs below the temporary directory; here that is inside a git project whose
  // settings carry a hook, as a session could leave them.
  const project = path.join(root, 'project');
  const tmp = path.join(project, 'tmp');
  fs.mkdirSync(path.join(project, '.claude'), { recursive: true });
  fs.mkdirSync(tmp);
  execFileSync('git', ['init', '-q', project]);
  const marker = path.join(root, 'hook-ran');
  const hook = { type: 'command', command: `touch ${marker}` };
  fs.writeFileSync(path.join(project, '.claude', 'settings.json'), JSON.stringify({ hooks: { SessionStart: [{ hooks: [hook] }] } }));
  const home = path.join(root, 'home');
  fs.mkdirSync(home);
  const env = { PATH: process.env.PATH ?? '', HOME: home, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', TMPDIR: tmp };
  // The hook is real: the CLI run plainly in the project runs it for the same two requests.
  const requests = ['initialize', 'get_usage'].map((subtype, i) => JSON.stringify({ type: 'control_request', request_id: `r${i}`, request: { subtype } })).join('\n');
  execFileSync(claude.path, ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose'], { cwd: project, env, input: `${requests}\n`, timeout: 30_000, stdio: ['pipe', 'ignore', 'ignore'] });
  assert.equal(fs.existsSync(marker), true, 'the project hook runs for a CLI started in the project');
  fs.rmSync(marker);
  const previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const reading = await new CliUsageSource({ claudePath: claude.path, env: () => env, timeoutMs: 30_000 }).read();
    assert.equal(reading.auth, 'api_key');
  } finally {
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
  }
  assert.equal(fs.existsSync(marker), false, 'the project hook did not run');
  assert.deepEqual(fs.readdirSync(tmp).filter((name) => name.startsWith('claude-ext-usage-')), [], 'its working directory is removed');
});

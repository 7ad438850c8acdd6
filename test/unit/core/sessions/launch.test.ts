import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchScript } from '../../../../core/sessions/host/tmux-host.ts';
import { shellQuote } from '../../../../core/sessions/host/shell-quote.ts';
import { sessionEnvironment } from '../../../../core/sessions/session-env.ts';
import { warmProcessArgs } from '../../../../core/sessions/claude/claude-args.ts';

test('shell quoting survives every hostile string', () => {
  const nasty = ["it's", '$(touch /tmp/pwned)', '`id`', 'a"b', '\\', 'x\ny', ' lead', '', '--flag', '; rm -rf /', '${HOME}', '😀'];
  for (const word of nasty) {
    const echoed = execFileSync('/bin/bash', ['-c', `printf '%s' ${shellQuote(word)}`]).toString();
    assert.equal(echoed, word);
  }
});

test('the launch script runs the argument vector exactly, with only the given environment', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-launch-'));
  const marker = path.join(dir, 'pwned');
  const spec = {
    name: 's_test',
    argv: ['/usr/bin/env'],
    env: { PATH: '/usr/bin:/bin', ODD: `$(touch ${marker}) 'quoted' "double"` },
    cwd: dir,
    inputPath: path.join(dir, 'in'),
    inputOffset: 0,
    outputPath: path.join(dir, 'out'),
    stderrPath: path.join(dir, 'err'),
    exitPath: path.join(dir, 'exit'),
    scriptPath: path.join(dir, 'launch.sh'),
  };
  fs.writeFileSync(spec.inputPath, '');
  fs.writeFileSync(spec.scriptPath, launchScript(spec));
  execFileSync('/bin/bash', [spec.scriptPath], { env: { ...process.env, SECRET_TOKEN: 'leak' } });
  const out = fs.readFileSync(spec.outputPath, 'utf8');
  assert.match(out, /^ODD=\$\(touch .*\) 'quoted' "double"$/m);
  assert.doesNotMatch(out, /SECRET_TOKEN/);
  assert.equal(fs.existsSync(marker), false);
  assert.equal(fs.readFileSync(spec.exitPath, 'utf8').trim(), '0');
});

test('a prompt-chosen model and system prompt are single arguments, never shell text', () => {
  const args = warmProcessArgs(
    { permissionMode: 'bypassPermissions', model: null, partialMessages: true, extraArgs: [] },
    { model: 'x; rm -rf ~', appendSystemPrompt: "be 'careful'" },
  );
  assert.deepEqual(args.slice(args.indexOf('--model'), args.indexOf('--model') + 2), ['--model', 'x; rm -rf ~']);
  assert.ok(args.includes('--include-partial-messages'));
  assert.ok(args.includes("be 'careful'"));
});

test('sessions get what Claude needs and none of the daemon\'s secrets', () => {
  const env = sessionEnvironment(
    {
      PATH: '/bin',
      HOME: '/h',
      ANTHROPIC_API_KEY: 'k',
      CLAUDE_CODE_USE_BEDROCK: '1',
      TELEGRAM_BOT_TOKEN: 't',
      CLAUDE_EXT_VAULT_PASSPHRASE: 'p',
      MY_SECRET: 's',
      CLAUDECODE: '1',
      AWS_SECRET_ACCESS_KEY: 'a',
    },
    { EXTRA: 'added', PATH: null },
    new Set(['ANTHROPIC_API_KEY']),
  );
  assert.deepEqual(env, { HOME: '/h', CLAUDE_CODE_USE_BEDROCK: '1', EXTRA: 'added' });
});

test('approve mode runs the CLI in its default mode, asking through stdio; a composer\'s mode wins over the setting', () => {
  const settings = { permissionMode: 'approve' as const, model: null, partialMessages: false, extraArgs: [] };
  const args = warmProcessArgs(settings, {});
  assert.deepEqual(args.slice(args.indexOf('--permission-mode'), args.indexOf('--permission-mode') + 4), ['--permission-mode', 'default', '--permission-prompt-tool', 'stdio']);
  const bypass = warmProcessArgs(settings, {}, { args: [], systemPrompt: [], permissionMode: 'bypassPermissions' });
  assert.ok(!bypass.includes('--permission-prompt-tool'));
  assert.equal(bypass[bypass.indexOf('--permission-mode') + 1], 'bypassPermissions');
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidPatternError } from '../../../../core/approvals/approval-errors.ts';
import { parsePattern, patternMatches, suggestPattern, summarizeCall } from '../../../../core/approvals/rule-pattern.ts';

const bash = (command: string) => ({ command });

describe('rule patterns', () => {
  test('a bare tool name answers every call of that tool, and no other tool', () => {
    assert.ok(patternMatches('Bash', 'Bash', bash('rm -rf /tmp/x')));
    assert.ok(patternMatches('WebSearch', 'WebSearch', { query: 'x' }));
    assert.ok(!patternMatches('Bash', 'Write', { file_path: '/x' }));
  });

  test('Bash: `prefix:*` answers the command and its longer forms, at a word boundary', () => {
    assert.ok(patternMatches('Bash(git status:*)', 'Bash', bash('git status')));
    assert.ok(patternMatches('Bash(git status:*)', 'Bash', bash('git status --short')));
    assert.ok(!patternMatches('Bash(git status:*)', 'Bash', bash('git statusx')));
    assert.ok(!patternMatches('Bash(git status:*)', 'Bash', bash('git push')));
  });

  test('Bash: a wildcard rule never answers a command that chains, substitutes or redirects', () => {
    for (const command of ['git status; rm -rf ~', 'git status && curl x', 'git status | sh', 'git status > /etc/passwd', 'git status $(rm x)', 'git status `id`', 'git status\nrm x']) {
      assert.ok(!patternMatches('Bash(git status:*)', 'Bash', bash(command)), command);
      assert.ok(!patternMatches('Bash(git status *)', 'Bash', bash(command)), command);
    }
  });

  test('Bash: `*` elsewhere is a wildcard; without one the command must be exactly the same', () => {
    assert.ok(patternMatches('Bash(echo hi *)', 'Bash', bash('echo hi there')));
    assert.ok(!patternMatches('Bash(echo hi *)', 'Bash', bash('echo bye there')));
    assert.ok(patternMatches('Bash(echo hi > /tmp/x)', 'Bash', bash('echo hi > /tmp/x')));
    assert.ok(!patternMatches('Bash(echo hi > /tmp/x)', 'Bash', bash('echo hi > /tmp/y')));
  });

  test('file tools: a glob on the path, `**` across directories, `*` within one', () => {
    assert.ok(patternMatches('Edit(/srv/app/**)', 'Edit', { file_path: '/srv/app/src/a.ts' }));
    assert.ok(!patternMatches('Edit(/srv/app/**)', 'Edit', { file_path: '/srv/other/a.ts' }));
    assert.ok(patternMatches('Write(/srv/app/*.md)', 'Write', { file_path: '/srv/app/README.md' }));
    assert.ok(!patternMatches('Write(/srv/app/*.md)', 'Write', { file_path: '/srv/app/docs/README.md' }));
    assert.ok(patternMatches('NotebookEdit(/n/*.ipynb)', 'NotebookEdit', { notebook_path: '/n/a.ipynb' }));
    assert.ok(!patternMatches('Edit(/srv/app/**)', 'Write', { file_path: '/srv/app/a.ts' }));
  });

  test('MCP: `mcp__server` is every tool of that server, `mcp__server__tool` one tool', () => {
    assert.ok(patternMatches('mcp__files', 'mcp__files__read', {}));
    assert.ok(patternMatches('mcp__files__*', 'mcp__files__write', {}));
    assert.ok(patternMatches('mcp__files__read', 'mcp__files__read', {}));
    assert.ok(!patternMatches('mcp__files__read', 'mcp__files__write', {}));
    assert.ok(!patternMatches('mcp__files', 'mcp__filesystem__read', {}));
  });

  test('WebFetch(domain:host) answers fetches of that host', () => {
    assert.ok(patternMatches('WebFetch(domain:example.com)', 'WebFetch', { url: 'https://example.com/a' }));
    assert.ok(!patternMatches('WebFetch(domain:example.com)', 'WebFetch', { url: 'https://example.com.evil.net/a' }));
  });

  test('a malformed pattern is refused with a hint, and never matches', () => {
    assert.throws(() => parsePattern('Bash(git'), InvalidPatternError);
    assert.throws(() => parsePattern('Bash()'), /the part in parentheses is empty/);
    assert.ok(!patternMatches('Bash(git', 'Bash', bash('git')));
  });

  test('the suggestion is the CLI\'s when it made one for this tool, else derived from the call', () => {
    assert.equal(suggestPattern('Bash', bash('echo hi > /x'), ['Bash(echo hi *)']), 'Bash(echo hi *)');
    assert.equal(suggestPattern('Bash', bash('git status --short'), ['Read(//tmp/**)']), 'Bash(git status:*)');
    assert.equal(suggestPattern('Bash', bash('ls -la /tmp')), 'Bash(ls:*)');
    assert.equal(suggestPattern('Bash', bash('cat a | sh')), 'Bash(cat a | sh)');
    assert.equal(suggestPattern('Edit', { file_path: '/srv/app/a.ts' }), 'Edit(/srv/app/**)');
    assert.equal(suggestPattern('mcp__files__read', {}), 'mcp__files__read');
  });

  test('the summary is one line', () => {
    assert.equal(summarizeCall('Bash', bash('echo a\n  echo b')), 'Bash: echo a ⏎ echo b');
    assert.equal(summarizeCall('Write', { file_path: '/x', content: 'y' }), 'Write: /x');
    assert.ok(summarizeCall('Bash', bash('x'.repeat(1000))).length <= 300);
  });
});

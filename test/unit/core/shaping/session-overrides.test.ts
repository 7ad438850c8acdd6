import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  claudeToolArgs,
  mergeOverrides,
  selectMcpServers,
  systemPromptText,
  type MergedOverrides,
} from '../../../../core/shaping/session-overrides.ts';

const servers = [
  { name: 'telegram', tags: ['messaging'] },
  { name: 'memory', tags: ['storage', 'personal'] },
  { name: 'cron' },
  { name: 'shell', tags: ['dangerous'] },
];

const names = (list: readonly { name: string }[]): string[] => list.map((server) => server.name);

describe('mergeOverrides', () => {
  test('nothing to merge means no restriction at all', () => {
    const merged = mergeOverrides([undefined, {}]);
    assert.deepEqual(merged, {
      systemPrompt: [],
      promptContext: [],
      model: undefined,
      tools: undefined,
      disallowedTools: [],
      mcpServers: undefined,
      excludeMcpServers: [],
      excludeMcpTags: [],
      failClosed: undefined,
    });
  });

  test('system-prompt fragments concatenate in order, without empty ones or repeats', () => {
    const merged = mergeOverrides([
      { systemPrompt: 'first' },
      { systemPrompt: ['second', '', '   ', 'first'] },
      undefined,
      { systemPrompt: ['third', 'second'] },
      { systemPrompt: '' },
    ]);
    assert.deepEqual(merged.systemPrompt, ['first', 'second', 'third']);
    assert.equal(systemPromptText(merged), 'first\n\nsecond\n\nthird');
  });

  test('no fragments give no system-prompt text', () => {
    assert.equal(systemPromptText(mergeOverrides([{ systemPrompt: ['', ' '] }])), undefined);
  });

  test('the first model set wins', () => {
    assert.equal(mergeOverrides([{}, { model: 'opus' }, { model: 'haiku' }]).model, 'opus');
  });

  test('denials unite, deduplicated, in the order first seen', () => {
    const merged = mergeOverrides([
      { disallowedTools: ['Edit', 'Write'], excludeMcpServers: ['shell'], excludeMcpTags: ['dangerous'] },
      { disallowedTools: ['Bash', 'Edit'], excludeMcpServers: ['memory', 'shell'], excludeMcpTags: ['personal'] },
    ]);
    assert.deepEqual(merged.disallowedTools, ['Edit', 'Write', 'Bash']);
    assert.deepEqual(merged.excludeMcpServers, ['shell', 'memory']);
    assert.deepEqual(merged.excludeMcpTags, ['dangerous', 'personal']);
  });

  test('one allowlist restricts; an undefined one does not widen it', () => {
    const merged = mergeOverrides([{ tools: ['Read', 'Grep'] }, {}, { mcpServers: ['cron'] }]);
    assert.deepEqual(merged.tools, ['Read', 'Grep']);
    assert.deepEqual(merged.mcpServers, ['cron']);
  });

  test('two allowlists give their intersection, in either order', () => {
    const a = { tools: ['Read', 'Grep', 'Bash'], mcpServers: ['cron', 'memory'] };
    const b = { tools: ['Bash', 'Read', 'Edit'], mcpServers: ['memory', 'telegram'] };
    assert.deepEqual(mergeOverrides([a, b]).tools, ['Read', 'Bash']);
    assert.deepEqual(new Set(mergeOverrides([b, a]).tools), new Set(['Read', 'Bash']));
    assert.deepEqual(mergeOverrides([a, b]).mcpServers, ['memory']);
  });

  test('disjoint allowlists allow nothing', () => {
    const merged = mergeOverrides([{ tools: ['Read'], mcpServers: ['cron'] }, { tools: ['Edit'], mcpServers: ['memory'] }]);
    assert.deepEqual(merged.tools, []);
    assert.deepEqual(merged.mcpServers, []);
  });

  test('an empty allowlist wins over a wider one', () => {
    assert.deepEqual(mergeOverrides([{ tools: ['Read'] }, { tools: [] }]).tools, []);
  });

  test('the first fail-closed reason wins and removes every tool and server', () => {
    const merged = mergeOverrides([
      { tools: ['Read'], mcpServers: ['cron'], disallowedTools: ['Bash'] },
      { failClosed: 'unknown template "x"' },
      { failClosed: 'second reason' },
    ]);
    assert.equal(merged.failClosed, 'unknown template "x"');
    assert.deepEqual(merged.tools, []);
    assert.deepEqual(merged.mcpServers, []);
    assert.deepEqual(merged.disallowedTools, ['Bash']);
  });
});

describe('selectMcpServers', () => {
  test('no restriction keeps every server', () => {
    assert.deepEqual(names(selectMcpServers(servers, mergeOverrides([]))), ['telegram', 'memory', 'cron', 'shell']);
  });

  test('the allowlist keeps only the servers it names', () => {
    assert.deepEqual(names(selectMcpServers(servers, mergeOverrides([{ mcpServers: ['cron', 'memory', 'absent'] }]))), ['memory', 'cron']);
  });

  test('an empty allowlist keeps none', () => {
    assert.deepEqual(selectMcpServers(servers, mergeOverrides([{ mcpServers: [] }])), []);
  });

  test('exclusions by name and by any one tag remove servers, even allowlisted ones', () => {
    const merged = mergeOverrides([
      { mcpServers: ['telegram', 'memory', 'cron'] },
      { excludeMcpServers: ['telegram'], excludeMcpTags: ['personal'] },
    ]);
    assert.deepEqual(names(selectMcpServers(servers, merged)), ['cron']);
  });

  test('a server without tags is not removed by a tag exclusion', () => {
    const merged = mergeOverrides([{ excludeMcpTags: ['messaging', 'dangerous'] }]);
    assert.deepEqual(names(selectMcpServers(servers, merged)), ['memory', 'cron']);
  });

  test('fail closed keeps none, whatever the merged lists say', () => {
    const merged: MergedOverrides = { ...mergeOverrides([]), mcpServers: undefined, failClosed: 'broken' };
    assert.deepEqual(selectMcpServers(servers, merged), []);
  });
});

describe('claudeToolArgs', () => {
  test('no restriction passes no flags', () => {
    assert.deepEqual(claudeToolArgs(mergeOverrides([{ model: 'opus' }])), []);
  });

  test('an allowlist is one comma-joined --tools value', () => {
    assert.deepEqual(claudeToolArgs(mergeOverrides([{ tools: ['Read', 'Grep', 'Glob'] }])), ['--tools', 'Read,Grep,Glob']);
  });

  test('an empty allowlist passes --tools with the empty string', () => {
    assert.deepEqual(claudeToolArgs(mergeOverrides([{ tools: [] }])), ['--tools', '']);
  });

  test('denials are one comma-joined --disallowedTools value', () => {
    assert.deepEqual(
      claudeToolArgs(mergeOverrides([{ disallowedTools: ['Edit', 'mcp__shell__run'] }, { disallowedTools: ['Bash'] }])),
      ['--disallowedTools', 'Edit,mcp__shell__run,Bash'],
    );
  });

  test('both restrictions together', () => {
    assert.deepEqual(claudeToolArgs(mergeOverrides([{ tools: ['Read', 'Bash'], disallowedTools: ['Bash'] }])), [
      '--tools',
      'Read,Bash',
      '--disallowedTools',
      'Bash',
    ]);
  });

  test('fail closed passes an empty --tools', () => {
    assert.deepEqual(claudeToolArgs(mergeOverrides([{ tools: ['Read'] }, { failClosed: 'no' }])), ['--tools', '']);
  });

  test('never an auto-approve list', () => {
    const args = claudeToolArgs(mergeOverrides([{ tools: ['Read'], disallowedTools: ['Edit'] }]));
    assert.ok(!args.some((arg) => /allowed-?tools/i.test(arg) && !/disallowed/i.test(arg)));
  });
});

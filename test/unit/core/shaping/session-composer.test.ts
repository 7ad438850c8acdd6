import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { defineTool } from '../../../../mcp/tool.ts';
import { SessionTokens } from '../../../../core/bridge/credentials.ts';
import { Contributions } from '../../../../core/extension-host/contributions.ts';
import { ToolGrants } from '../../../../core/mcp-endpoint/tool-grants.ts';
import type { PermissionMode } from '../../../../core/sessions/claude/claude-args.ts';
import type { PromptRecord, SessionSummary } from '../../../../core/sessions/session-types.ts';
import { SessionComposer } from '../../../../core/shaping/session-composer.ts';
import { TemplateRegistry } from '../../../../core/shaping/templates.ts';
import { silentLogger } from '../../../../core/util/log.ts';

function summary(user: string, template?: string): SessionSummary {
  const now = new Date().toISOString();
  return { id: `s_${user}`, user, name: 'main', cwd: '/', ...(template ? { template } : {}), labels: {}, conversationId: 'c', status: 'idle', warm: false, queued: 0, counters: { prompts: 0, turns: 0, costUsd: 0 }, createdAt: now, lastActiveAt: now };
}

const prompt = { id: 'p_1', options: {} } as PromptRecord;

test('the permission mode comes from the template, else the user; in approve mode only read-only tools and those named withoutApproval run without asking', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-composer-'));
  const sessionDir = (id: string): string => {
    const dir = path.join(root, 'sessions', id);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const contributions = new Contributions();
  const tool = (name: string, readOnly: boolean) => defineTool({ name, description: name, input: {}, ...(readOnly ? { annotations: { readOnlyHint: true } } : {}), handler: () => '' });
  contributions.addTools('notes', { server: 'notes', tools: [tool('note_list', true), tool('note_save', false), tool('note_purge', false)], withoutApproval: ['note_save'] });
  contributions.addTools('shell', { server: 'shell', tools: [tool('run', false)] });
  contributions.addMcpServer('stdio', { name: 'stdio', command: 'true' });
  assert.throws(() => contributions.addTools('bad', { server: 'bad', tools: [tool('x', false)], withoutApproval: ['y'] }), /withoutApproval names no tool of it: y/);
  const templates = new TemplateRegistry();
  assert.deepEqual(templates.setConfigTemplates({ trusted: { description: 'runs alone', permission_mode: 'bypassPermissions' } }, root), []);
  const modes: Record<string, PermissionMode> = { alice: 'approve' };
  const composer = new SessionComposer({
    contributions,
    templates,
    tokens: new SessionTokens(root),
    grants: new ToolGrants(sessionDir),
    stateDir: root,
    socketPath: path.join(root, 'sock'),
    sessionDir,
    logger: silentLogger,
    endpointUrl: () => 'http://127.0.0.1:1',
    gatewayMode: () => false,
    permissionMode: (user) => modes[user] ?? 'bypassPermissions',
  });
  const alice = await composer.compose(summary('alice'), prompt);
  assert.equal(alice.permissionMode, 'approve');
  // Read-only tools and those the server names run without asking; a shell behind a tool and a stdio server do not.
  assert.deepEqual(alice.args.slice(alice.args.indexOf('--allowedTools'), alice.args.indexOf('--allowedTools') + 2), ['--allowedTools', 'mcp__notes__note_list,mcp__notes__note_save']);
  const bob = await composer.compose(summary('bob'), prompt);
  assert.equal(bob.permissionMode, 'bypassPermissions');
  assert.ok(!bob.args.includes('--allowedTools'));
  const trusted = await composer.compose(summary('alice', 'trusted'), prompt);
  assert.equal(trusted.permissionMode, 'bypassPermissions');
  assert.throws(() => templates.setConfigTemplates({ bad: { description: 'x', permission_mode: 'yolo' } }, root).forEach((error) => { throw error; }), /templates\.bad\.permission_mode/);
  fs.rmSync(root, { recursive: true, force: true });
});

test('in gateway mode a server is free of approval only when every one of its commands is', async () => {
  const { approvalFreeTools } = await import('../../../../core/shaping/approval-free-tools.ts');
  const contributions = new Contributions();
  const tool = (name: string, readOnly: boolean) => defineTool({ name, description: name, input: {}, ...(readOnly ? { annotations: { readOnlyHint: true } } : {}), handler: () => '' });
  contributions.addTools('reader', { server: 'reader', tools: [tool('a', true), tool('b', false)], withoutApproval: ['b'] });
  contributions.addTools('mixed', { server: 'mixed', tools: [tool('c', true), tool('d', false)] });
  assert.deepEqual(approvalFreeTools(contributions.listServers(), true), ['mcp__reader']);
  assert.deepEqual(approvalFreeTools(contributions.listServers(), false), ['mcp__reader__a', 'mcp__reader__b', 'mcp__mixed__c']);
});

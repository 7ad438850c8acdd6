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

test('the permission mode comes from the template, else the user; in approve mode the daemon\'s own servers are allowed', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ce-composer-'));
  const sessionDir = (id: string): string => {
    const dir = path.join(root, 'sessions', id);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const contributions = new Contributions();
  contributions.addTools('notes', { server: 'notes', tools: [defineTool({ name: 'note_list', description: 'Lists notes', input: {}, handler: () => '' })] });
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
  assert.deepEqual(alice.args.slice(alice.args.indexOf('--allowedTools'), alice.args.indexOf('--allowedTools') + 2), ['--allowedTools', 'mcp__notes']);
  const bob = await composer.compose(summary('bob'), prompt);
  assert.equal(bob.permissionMode, 'bypassPermissions');
  assert.ok(!bob.args.includes('--allowedTools'));
  const trusted = await composer.compose(summary('alice', 'trusted'), prompt);
  assert.equal(trusted.permissionMode, 'bypassPermissions');
  assert.throws(() => templates.setConfigTemplates({ bad: { description: 'x', permission_mode: 'yolo' } }, root).forEach((error) => { throw error; }), /templates\.bad\.permission_mode/);
  fs.rmSync(root, { recursive: true, force: true });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StreamTail } from '../../../../core/sessions/claude/stream-tail.ts';
import { MalformedLineError, parseStreamLine } from '../../../../core/sessions/claude/stream-parser.ts';

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ce-tail-')), 'stream.jsonl');
}

test('a multibyte character split across two appends is decoded whole, with exact offsets', () => {
  const file = tempFile();
  const lines: [string, number][] = [];
  const tail = new StreamTail(file, 0, (line, end) => lines.push([line, end]));
  const text = Buffer.from('{"t":"héllo 🌍"}\n', 'utf8');
  const cut = text.indexOf(Buffer.from('🌍')) + 2;
  fs.writeFileSync(file, text.subarray(0, cut));
  tail.readAvailable();
  assert.equal(lines.length, 0);
  fs.appendFileSync(file, text.subarray(cut));
  tail.readAvailable();
  assert.deepEqual(lines, [['{"t":"héllo 🌍"}', text.length]]);
  assert.equal(tail.offset, text.length);
});

test('reading resumes from a saved offset without repeating lines', () => {
  const file = tempFile();
  fs.writeFileSync(file, 'one\ntwo\nthr');
  const first: string[] = [];
  const tail = new StreamTail(file, 0, (line) => first.push(line));
  tail.readAvailable();
  assert.deepEqual(first, ['one', 'two']);
  fs.appendFileSync(file, 'ee\n');
  const second: string[] = [];
  new StreamTail(file, tail.offset, (line) => second.push(line)).readAvailable();
  assert.deepEqual(second, ['three']);
});

test('a line larger than the read buffer arrives whole', () => {
  const file = tempFile();
  const big = 'x'.repeat(300_000);
  fs.writeFileSync(file, `${big}\nnext\n`);
  const lines: string[] = [];
  new StreamTail(file, 0, (line) => lines.push(line)).readAvailable();
  assert.deepEqual(lines.map((l) => l.length), [300_000, 4]);
});

test('invalid UTF-8 bytes do not shift the offsets', () => {
  const file = tempFile();
  fs.writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('\nok\n')]));
  const ends: number[] = [];
  new StreamTail(file, 0, (_line, end) => ends.push(end)).readAvailable();
  assert.deepEqual(ends, [3, 6]);
});

test('the usage of a model call, the context window, a compaction and a tool call the CLI gave up on become events', () => {
  assert.deepEqual(parseStreamLine('{"type":"assistant","message":{"content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":100,"cache_read_input_tokens":800,"cache_creation_input_tokens":50}},"parent_tool_use_id":null}'), [
    { type: 'context_used', tokens: 950 },
    { type: 'text', text: 'hi', partial: false },
  ]);
  assert.deepEqual(parseStreamLine('{"type":"system","subtype":"compact_boundary","compact_metadata":{"trigger":"auto","pre_tokens":170000}}'), [{ type: 'compacted', trigger: 'auto', preTokens: 170000 }]);
  const [result] = parseStreamLine('{"type":"result","subtype":"success","is_error":false,"result":"ok","modelUsage":{"small":{"contextWindow":200000},"main[1m]":{"contextWindow":1000000}}}');
  assert.equal(result?.type === 'cli_result' && result.contextWindow, 1000000);
  const lost = 'MCP server \\"ask_user\\" transport dropped mid-call; response for tool \\"ask_user\\" was lost';
  assert.deepEqual(parseStreamLine(`{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t9","content":"${lost}","is_error":true}]}}`), [
    { type: 'tool_result', toolUseId: 't9', content: 'MCP server "ask_user" transport dropped mid-call; response for tool "ask_user" was lost', isError: true },
    { type: 'tool_call_lost', server: 'ask_user', tool: 'ask_user' },
  ]);
});

test('stream lines become typed events', () => {
  assert.deepEqual(parseStreamLine('{"type":"system","subtype":"init","model":"m","tools":["Bash"],"mcp_servers":[{"name":"x","status":"connected"}],"cwd":"/w"}'), [
    { type: 'init', model: 'm', tools: ['Bash'], mcpServers: [{ name: 'x', status: 'connected' }], cwd: '/w' },
  ]);
  assert.deepEqual(
    parseStreamLine('{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"hi"},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]},"parent_tool_use_id":null}'),
    [
      { type: 'thinking', text: 'hm', partial: false },
      { type: 'text', text: 'hi', partial: false },
      { type: 'tool_use', toolUseId: 't1', name: 'Bash', input: { command: 'ls' } },
    ],
  );
  assert.deepEqual(parseStreamLine('{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"out"}],"is_error":true}]}}'), [
    { type: 'tool_result', toolUseId: 't1', content: 'out', isError: true },
  ]);
  assert.deepEqual(parseStreamLine('{"type":"stream_event","event":{"type":"content_block_delta","delta":{"type":"text_delta","text":"h"}}}'), [{ type: 'text', text: 'h', partial: true }]);
  const [result] = parseStreamLine('{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.5,"duration_ms":12,"num_turns":2,"usage":{"input_tokens":3,"output_tokens":4}}');
  assert.equal(result?.type, 'cli_result');
  assert.equal(result?.type === 'cli_result' && result.totalCostUsd, 0.5);
  assert.deepEqual(parseStreamLine('{"type":"control_response","response":{"subtype":"success","request_id":"r1"}}'), [{ type: 'control_response', requestId: 'r1', ok: true }]);
  assert.deepEqual(parseStreamLine('{"type":"system","subtype":"api_retry"}'), []);
});

test('lines of a sub-agent conversation are not the session\'s own text', () => {
  assert.deepEqual(parseStreamLine('{"type":"assistant","message":{"content":[{"type":"text","text":"inner"}]},"parent_tool_use_id":"toolu_1"}'), []);
});

test('a malformed line is an error that quotes it', () => {
  assert.throws(() => parseStreamLine('{"type":"assis'), MalformedLineError);
  assert.throws(() => parseStreamLine('[1,2]'), /not an object/);
});

test('a can_use_tool request becomes a permission request with the CLI\'s suggested rules; a cancel is noted', () => {
  const line = JSON.stringify({
    type: 'control_request',
    request_id: 'req-1',
    request: {
      subtype: 'can_use_tool',
      tool_name: 'Bash',
      input: { command: 'echo hi > /tmp/x' },
      tool_use_id: 'toolu_1',
      permission_suggestions: [
        { type: 'addRules', rules: [{ toolName: 'Bash', ruleContent: 'echo hi *' }, { toolName: 'Read' }], behavior: 'allow', destination: 'localSettings' },
        { type: 'addDirectories', directories: ['/tmp'], destination: 'session' },
        { type: 'addRules', rules: [{ toolName: 'Bash', ruleContent: 'rm *' }], behavior: 'deny' },
      ],
    },
  });
  assert.deepEqual(parseStreamLine(line), [
    { type: 'permission_request', requestId: 'req-1', tool: 'Bash', input: { command: 'echo hi > /tmp/x' }, toolUseId: 'toolu_1', suggestedRules: ['Bash(echo hi *)', 'Read'] },
  ]);
  assert.deepEqual(parseStreamLine(JSON.stringify({ type: 'control_request', request_id: 'i', request: { subtype: 'interrupt' } })), []);
  assert.deepEqual(parseStreamLine(JSON.stringify({ type: 'control_cancel_request', request_id: 'req-1' })), [{ type: 'control_cancel', requestId: 'req-1' }]);
});

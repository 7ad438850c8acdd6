/**
 * The `notes` example of docs/writing-an-extension.md, run as written: its files are taken from the
 * doc's `<!-- file: NAME -->` blocks, dropped into an extensions dir, and driven through the real
 * claude CLI against the stand-in model API. When this test fails, the doc's example is wrong.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createWorld, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons } from '../support/daemon-process.ts';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/writing-an-extension.md');
const EXAMPLE_FILES = ['extension.ts', 'protocol.ts', 'tools.ts', 'store.ts', 'config.yaml'];

/** Every `<!-- file: NAME -->` line followed by a fenced code block, by NAME. */
function exampleBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const pattern = /^<!-- file: (\S+) -->\r?\n```[\w-]*\r?\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of markdown.matchAll(pattern)) {
    const [, name = '', body = ''] = match;
    if (blocks.has(name)) throw new Error(`${DOC} has two blocks for ${name}`);
    blocks.set(name, body);
  }
  return blocks;
}

function readExample(): Map<string, string> {
  if (!fs.existsSync(DOC)) throw new Error(`${DOC} does not exist`);
  const blocks = exampleBlocks(fs.readFileSync(DOC, 'utf8'));
  const missing = EXAMPLE_FILES.filter((name) => !blocks.has(name));
  if (missing.length > 0) {
    throw new Error(
      `${DOC} lacks the example's ${missing.join(', ')}: each file must be a fenced code block directly after a line ` +
        `"<!-- file: NAME -->" (found: ${[...blocks.keys()].join(', ') || 'none'})`,
    );
  }
  return blocks;
}

interface JsonEvent {
  type: string;
  tools?: string[];
  name?: string;
  content?: string;
  isError?: boolean;
  result?: { text: string; outcome: string };
}

interface Turn {
  readonly tools: string[];
  readonly toolResults: { content: string; isError: boolean }[];
  readonly text: string;
}

describe('the notes example of docs/writing-an-extension.md', () => {
  let world: TestWorld;
  let configFile: string;
  let extDir: string;
  let docYaml: string;

  const writeConfig = (extensionsYaml: string): void => {
    const base = [`state_dir: ${world.stateDir}`, `extensions_dirs: [${extDir}]`, 'sessions:', `  default_cwd: ${world.workDir}`];
    fs.writeFileSync(configFile, `${base.join('\n')}\n${extensionsYaml.trimEnd()}\n`);
  };

  /** One prompt of `user` to their session; the model follows the stand-in's directives in `text`. */
  const prompt = async (user: string, text: string): Promise<Turn> => {
    const run = await runCli(world, ['prompt', '--config', configFile, '--json', '--user', user, text]);
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JsonEvent);
    const result = events.find((e) => e.type === 'result')?.result;
    assert.equal(result?.outcome, 'success', `the turn did not succeed: ${run.stdout}`);
    return {
      tools: events.find((e) => e.type === 'init')?.tools ?? [],
      toolResults: events.filter((e) => e.type === 'tool_result').map((e) => ({ content: e.content ?? '', isError: e.isError === true })),
      text: result?.text ?? '',
    };
  };
  const addNote = (user: string, note: string): Promise<Turn> => prompt(user, `@tool mcp__notes__note_add ${JSON.stringify({ text: note })}\n@echo-tool`);
  const listNotes = (user: string): Promise<Turn> => prompt(user, '@tool mcp__notes__note_list {}\n@echo-tool');
  const assertToolSucceeded = (turn: Turn): void => {
    assert.equal(turn.toolResults.length, 1, `one tool call: ${JSON.stringify(turn.toolResults)}`);
    assert.equal(turn.toolResults[0]?.isError, false, `the tool failed: ${turn.toolResults[0]?.content}`);
  };

  before(async () => {
    const blocks = readExample();
    world = await createWorld('docs');
    extDir = path.join(world.root, 'extensions');
    fs.mkdirSync(path.join(extDir, 'notes'), { recursive: true });
    for (const [name, body] of blocks) {
      if (name !== 'config.yaml') fs.writeFileSync(path.join(extDir, 'notes', name), body);
    }
    docYaml = (blocks.get('config.yaml') ?? '')
      .replaceAll('${STATE_DIR}', world.stateDir)
      .replaceAll('${EXT_DIR}', extDir)
      .replaceAll('${WORK_DIR}', world.workDir);
    configFile = path.join(world.root, 'config.yaml');
    writeConfig(docYaml);
    await startDaemonProcess(world, ['--config', configFile]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world?.cleanup();
  });

  test('a note saved with note_add comes back from note_list', async () => {
    const added = await addNote('alice', 'buy milk');
    assert.ok(added.tools.includes('mcp__notes__note_add') && added.tools.includes('mcp__notes__note_list'), `tools: ${added.tools.join(', ')}`);
    assertToolSucceeded(added);
    assert.match(added.text, /buy milk/);

    const listed = await listNotes('alice');
    assertToolSucceeded(listed);
    assert.match(listed.text, /buy milk/);
  });

  test("each user sees only their own notes", async () => {
    const empty = await listNotes('bob');
    assertToolSucceeded(empty);
    assert.doesNotMatch(empty.text, /buy milk/);

    assertToolSucceeded(await addNote('bob', 'call the plumber'));
    const bobs = await listNotes('bob');
    assert.match(bobs.text, /call the plumber/);
    assert.doesNotMatch(bobs.text, /buy milk/);

    const alices = await listNotes('alice');
    assert.match(alices.text, /buy milk/);
    assert.doesNotMatch(alices.text, /call the plumber/);
  });

  test('the notes live in the extension data dir', () => {
    const dataDir = path.join(world.stateDir, 'data', 'notes');
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    const stored = fs.readdirSync(dataDir).map((file) => fs.readFileSync(path.join(dataDir, file), 'utf8'));
    assert.ok(stored.some((text) => text.includes('buy milk') && text.includes('alice')), `data dir holds: ${stored.join('\n')}`);
  });

  test('claude-ext status reports the extension as running and healthy', async () => {
    const run = await runCli(world, ['status', '--config', configFile, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as { extensions: { name: string; state: string; health: { status: string } }[] };
    const notes = status.extensions.find((e) => e.name === 'notes');
    assert.equal(notes?.state, 'running', run.stdout);
    assert.equal(notes?.health.status, 'ok', run.stdout);
  });

  test('an invalid max_notes is refused naming the key and line; a valid one applies without a restart', async () => {
    writeConfig('enabled: [notes]\nextensions:\n  notes:\n    max_notes: 0');
    const refused = await runCli(world, ['reload', '--config', configFile]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /config\.yaml:8: extensions\.notes\.max_notes: /);

    writeConfig('enabled: [notes]\nextensions:\n  notes:\n    max_notes: 1');
    const reloaded = await runCli(world, ['reload', '--config', configFile]);
    assert.equal(reloaded.code, 0, reloaded.stderr);
    assert.ok(readEventLog(world).some((e) => e.type === 'extension_reconfigured' && e.extension === 'notes'));
    assert.equal(readEventLog(world).filter((e) => e.type === 'extension_started' && e.extension === 'notes').length, 1, 'reconfigured in place, not restarted');

    const second = await addNote('alice', 'buy bread');
    assert.equal(second.toolResults[0]?.isError, true, 'alice is at the new limit of one note');
    assert.match(second.text, /max_notes/);
    assert.doesNotMatch((await listNotes('alice')).text, /buy bread/);
  });
});

/**
 * vault end to end: secrets set from the terminal or by the model, used by the real claude CLI
 * through vault_run without the model ever receiving them, and no plain copy anywhere on disk.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWorld, type TestWorld } from '../support/harness.ts';
import { runCli, startDaemonProcess, stopStartedDaemons, writeConfig, type DaemonProcess } from '../support/daemon-process.ts';

const CLI_SECRET = 'ghp_TerminalSecret_4f9a2c';
const MODEL_SECRET = 'AKIA_ModelSecret_77d1e0';

/** Every file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && fs.readFileSync(full).includes(needle)) hits.push(full);
    }
  };
  walk(dir);
  return hits;
}

interface JsonEvent {
  type: string;
  name?: string;
  input?: Record<string, unknown>;
  result?: { text: string };
}

describe('vault', () => {
  let world: TestWorld;
  let config: string;
  let daemon: DaemonProcess;
  const cli = (args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) => runCli(world, [...args, '--config', config], options);
  const promptJson = async (user: string, text: string): Promise<JsonEvent[]> => {
    const run = await cli(['prompt', '--user', user, '--json', text]);
    assert.equal(run.code, 0, run.stderr);
    return run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JsonEvent);
  };
  const resultText = (events: JsonEvent[]): string => events.find((e) => e.type === 'result')?.result?.text ?? '';

  before(async () => {
    world = await createWorld('vault');
    config = writeConfig(world, 'enabled: [vault]\n');
    daemon = await startDaemonProcess(world, ['--config', config]);
  });
  after(async () => {
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('a secret set at the terminal is listed and used by the model but never reaches it, nor any plain file', async () => {
    const set = await cli(['vault', 'set', '--user', 'alice', 'github/token', '--tag', 'git'], { stdin: `${CLI_SECRET}\n` });
    assert.equal(set.code, 0, set.stderr);

    const listed = resultText(await promptJson('alice', '@tool mcp__vault__vault_list {}\n@echo-tool'));
    assert.match(listed, /github\/token/);
    assert.doesNotMatch(listed, new RegExp(CLI_SECRET));

    const run = await promptJson('alice', `@tool mcp__vault__vault_run ${JSON.stringify({ command: 'echo "token=$GH_TOKEN" && pwd', env: { GH_TOKEN: 'vault:github/token' } })}\n@echo-tool`);
    const output = resultText(run);
    assert.match(output, /exit code: 0/);
    assert.match(output, /token=\[REDACTED\]/);
    assert.ok(output.includes(world.workDir), 'the command ran in the session working directory');
    assert.ok(!JSON.stringify(world.api.requests.map((r) => r.body)).includes(CLI_SECRET), 'the model never received the value');

    const other = resultText(await promptJson('bob', `@tool mcp__vault__vault_run ${JSON.stringify({ command: 'echo $T', env: { T: 'vault:github/token' } })}\n@echo-tool`));
    assert.match(other, /no secret "github\/token" in your vault/, 'another user cannot use alice\'s secret');

    assert.deepEqual(filesContaining(world.stateDir, CLI_SECRET), []);
    assert.deepEqual(filesContaining(world.home, CLI_SECRET), []);
    assert.ok(!daemon.output().includes(CLI_SECRET));
  });

  test('a secret the model stores leaves no trace in the daemon log, the event log or the events frontends get', async () => {
    const events = await promptJson('carol', `@tool mcp__vault__vault_store ${JSON.stringify({ key: 'aws/key', value: MODEL_SECRET })}\n@reply stored it`);
    assert.equal(resultText(events), 'stored it');
    const call = events.find((e) => e.type === 'tool_use' && e.name === 'mcp__vault__vault_store');
    assert.equal(call?.input?.value, '[REDACTED]');
    assert.ok(!JSON.stringify(events).includes(MODEL_SECRET));
    const listed = JSON.parse((await cli(['vault', 'list', '--user', 'carol', '--json'])).stdout) as { key: string }[];
    assert.deepEqual(listed.map((e) => e.key), ['aws/key']);
    for (const file of ['daemon.log', 'events.jsonl']) assert.ok(!fs.readFileSync(path.join(world.stateDir, file), 'utf8').includes(MODEL_SECRET), `${file} holds the secret`);
    assert.ok(!daemon.output().includes(MODEL_SECRET));
  });

  test('the model deletes a secret; deleting it again says there was none', async () => {
    assert.equal((await cli(['vault', 'set', '--user', 'erin', 'tmp/key'], { stdin: 'throwaway-value\n' })).code, 0);
    assert.equal(resultText(await promptJson('erin', `@tool mcp__vault__vault_delete ${JSON.stringify({ key: 'tmp/key' })}\n@echo-tool`)), 'deleted tmp/key');
    assert.equal(resultText(await promptJson('erin', `@tool mcp__vault__vault_delete ${JSON.stringify({ key: 'tmp/key' })}\n@echo-tool`)), 'there was no tmp/key');
    assert.deepEqual(JSON.parse((await cli(['vault', 'list', '--user', 'erin', '--json'])).stdout), []);
  });

  test("a user's secret is hidden in that user's output only, so no other user can test guesses of it", async () => {
    const pin = '482913';
    assert.equal((await cli(['vault', 'set', '--user', 'dave', 'bank/pin'], { stdin: `${pin}\n` })).code, 0);

    const guess = await promptJson('mallory', `@reply is it ${pin}?`);
    assert.equal(resultText(guess), `is it ${pin}?`, "another user's reply is not redacted with dave's secrets");
    assert.ok(!JSON.stringify(guess).includes('[REDACTED]'));

    const own = await promptJson('dave', `@reply is it ${pin}?`);
    assert.equal(resultText(own), 'is it [REDACTED]?');
    assert.ok(!JSON.stringify(own).includes(pin), "dave's events never show his secret");
  });

  test('a wrong passphrase at start is a clear error and the vault stays intact', async () => {
    const file = path.join(world.stateDir, 'data', 'vault', 'vault.json');
    const before = fs.readFileSync(file);
    await daemon.stop();
    daemon = await startDaemonProcess(world, ['--config', config], { ...world.env, CLAUDE_EXT_VAULT_PASSPHRASE: 'not-the-passphrase' });
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as { extensions: { name: string; state: string; health: { reason?: string } }[] };
    const vault = status.extensions.find((e) => e.name === 'vault');
    assert.equal(vault?.state, 'failed');
    assert.match(vault?.health.reason ?? '', /passphrase/i);
    const refused = await cli(['vault', 'list', '--user', 'alice']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /vault extension enabled/);
    assert.ok(fs.readFileSync(file).equals(before), 'the vault file is unchanged');
    await daemon.stop();

    daemon = await startDaemonProcess(world, ['--config', config]);
    const listed = JSON.parse((await cli(['vault', 'list', '--user', 'alice', '--json'])).stdout) as { key: string }[];
    assert.deepEqual(listed.map((e) => e.key), ['github/token']);
    const deleted = await cli(['vault', 'delete', '--user', 'alice', 'github/token']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });
});

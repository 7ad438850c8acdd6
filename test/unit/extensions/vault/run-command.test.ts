import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { RunCancelledError, runWithSecrets, type RunRequest } from '../../../../extensions/vault/run-command.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-run-'));
/** Every pid a command wrote down, so that none outlives the tests whatever happens. */
const recorded = new Set<number>();
after(() => {
  for (const pid of recorded) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
/** Runs a command that writes the pids it starts to the file in $PIDS; returns the outcome, the time it took and those pids. */
async function run(command: string, options: Partial<RunRequest> = {}): Promise<{ outcome: Awaited<ReturnType<typeof runWithSecrets>> | Error; ms: number; pids: number[] }> {
  const pidFile = path.join(dir, `pids-${++runs}`);
  const started = Date.now();
  const outcome = await runWithSecrets({ command, cwd: dir, env: { PIDS: pidFile }, timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, ...options }).catch((error: Error) => error);
  const ms = Date.now() - started;
  const pids = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  for (const pid of pids) recorded.add(pid);
  return { outcome, ms, pids };
}

/** Running, not merely a zombie nobody has reaped yet. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pids still running a second from now (the group's SIGKILL comes half a second after SIGTERM). */
async function survivors(pids: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + 1000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return pids.filter(alive);
}

const TWO_SLEEPS = 'echo $$ >> "$PIDS"; sleep 30 & echo $! >> "$PIDS"; sleep 30 & echo $! >> "$PIDS"; wait';

test('a command that times out is ended with its whole process group, even children holding its output', async () => {
  const { outcome, ms, pids } = await run(TWO_SLEEPS, { timeoutMs: 1000 });
  assert.ok(!(outcome instanceof Error), String(outcome));
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.exitCode, null);
  assert.ok(ms < 2500, `answered after ${ms} ms`);
  assert.equal(pids.length, 3);
  assert.deepEqual(await survivors(pids), []);
});

test('an aborted call ends the whole group and rejects', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const { outcome, ms, pids } = await run(TWO_SLEEPS, { signal: controller.signal });
  assert.ok(outcome instanceof RunCancelledError, String(outcome));
  assert.ok(ms < 2500, `answered after ${ms} ms`);
  assert.equal(pids.length, 3);
  assert.deepEqual(await survivors(pids), []);
  await assert.rejects(runWithSecrets({ command: 'true', cwd: dir, env: {}, timeoutMs: 1000, maxOutputBytes: 100, signal: AbortSignal.abort() }), RunCancelledError);
});

test('a process that left the group and holds the output does not hold up the answer', async () => {
  const { outcome, ms, pids } = await run('setsid sleep 30 & echo $! >> "$PIDS"; sleep 30', { timeoutMs: 1000 });
  assert.ok(!(outcome instanceof Error), String(outcome));
  assert.equal(outcome.timedOut, true);
  assert.ok(ms < 2500, `answered after ${ms} ms`);
  assert.equal(pids.length, 1);
});

test('what a finished command leaves running in its group is ended, and its answer does not wait for it', async () => {
  const { outcome, ms, pids } = await run('sleep 30 & echo $! >> "$PIDS"; sleep 30 >/dev/null 2>&1 & echo $! >> "$PIDS"; echo done');
  assert.ok(!(outcome instanceof Error), String(outcome));
  assert.deepEqual([outcome.exitCode, outcome.stdout, outcome.timedOut], [0, 'done\n', false]);
  assert.ok(ms < 2500, `answered after ${ms} ms`);
  assert.equal(pids.length, 2);
  assert.deepEqual(await survivors(pids), []);
});

test('the command gets its variables, its exit code and both outputs come back, and too much output is cut', async () => {
  const { outcome } = await run('echo "token=$TOKEN"; echo oops >&2; exit 3', { env: { TOKEN: 's3cret' } });
  assert.deepEqual(outcome, { exitCode: 3, stdout: 'token=s3cret\n', stderr: 'oops\n', timedOut: false, truncated: false });
  const cut = await run('yes', { maxOutputBytes: 100 });
  assert.ok(!(cut.outcome instanceof Error));
  assert.deepEqual([cut.outcome.truncated, cut.outcome.stdout.length, cut.outcome.timedOut], [true, 100, false]);
});

test('a wrapper decides what is started and adds variables', async () => {
  const seen: string[][] = [];
  const { outcome } = await run('echo "inner $TOKEN"', {
    env: { TOKEN: 't' },
    wrap: async (argv) => {
      seen.push(argv);
      return { argv: ['/bin/sh', '-c', 'echo "wrapped $WRAPPER"; exec "$@"', 'wrapper', ...argv], env: { WRAPPER: 'yes' } };
    },
  });
  assert.deepEqual(seen, [['/bin/sh', '-c', 'echo "inner $TOKEN"']]);
  assert.ok(!(outcome instanceof Error));
  assert.equal(outcome.stdout, 'wrapped yes\ninner t\n');
});

/**
 * The chaos workload: the real daemon under a mixed load (prompts of two users, some queued behind
 * others, a cron job firing every few seconds, an open ask_user question, a Telegram chat against the
 * fake Bot API) is SIGKILLed at random moments and started again, round after round. Then everything
 * is counted: each prompt must have exactly one result, delivered exactly once; each Telegram message
 * answered exactly once; the question still open and answerable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { connectAsAdmin } from '../../core/bridge/admin-client.ts';
import type { RpcClient } from '../../core/bridge/rpc-client.ts';
import type { PromptRecord } from '../../core/sessions/session-types.ts';
import { createWorld, waitFor, type TestWorld } from './harness.ts';
import { readEventLog, runCli, startDaemonProcess, writeConfig, type DaemonProcess } from './daemon-process.ts';
import { startFakeTelegram, type FakeTelegram } from './fake-telegram.ts';

export interface ChaosReport {
  readonly rounds: number;
  readonly kills: number;
  readonly prompts: { readonly submitted: number; readonly produced: number; readonly lost: number; readonly duplicated: number };
  readonly deliveries: { readonly delivered: number; readonly lost: number; readonly duplicated: number };
  readonly telegram: { readonly sent: number; readonly answered: number; readonly lost: number; readonly duplicated: number };
  /** Cancelled: closed with the reason told to the person (the session's CLI gave up on the call). */
  readonly questions: { readonly asked: number; readonly answered: number; readonly cancelled: number; readonly lost: number };
  readonly cronResults: number;
  readonly queuedLost: number;
}

const TOKEN = '123456789:AAChaosTokenForTheTestsOnly_01234567';
const ALICE = { id: 111, first_name: 'Alice', username: 'alice_chaos' };

/** An extension that writes down every result it is handed, to count deliveries across kills. */
const RECORDER = `
import fs from 'node:fs';
import path from 'node:path';
export default () => ({
  name: 'chaos_recorder',
  description: 'records delivered results',
  start(ctx) {
    const file = path.join(ctx.dataDir, 'delivered.log');
    ctx.onEvent((event) => {
      if (event.type === 'result') fs.appendFileSync(file, event.promptId + '\\n');
    });
  },
});
`;

/** A random generator with a seed, so that a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

export async function runChaos(options: { rounds: number; seed?: number; keep?: boolean; log?: (line: string) => void }): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const next = random(options.seed ?? Date.now());
  const world = await createWorld('chaos');
  const telegram = await startFakeTelegram({ token: TOKEN });
  const extensions = path.join(world.root, 'extensions');
  fs.mkdirSync(path.join(extensions, 'chaos_recorder'), { recursive: true });
  fs.writeFileSync(path.join(extensions, 'chaos_recorder', 'extension.js'), RECORDER);
  const config = writeConfig(
    world,
    [
      '  max_per_user: 100',
      `extensions_dirs: [${extensions}]`,
      'enabled: [ask_user, cron, telegram, chaos_recorder]',
      'extensions:',
      '  telegram:',
      `    token: ${TOKEN}`,
      `    allowed_users: [${ALICE.id}]`,
      `    api_root: ${telegram.apiRoot}`,
      '    batch_window: 100ms',
      '    edit_interval: 200ms',
      '',
    ].join('\n'),
  );
  let daemon: DaemonProcess = await startDaemonProcess(world, ['--config', config]);
  let client: RpcClient = await connectAsAdmin(world.stateDir);
  const submitted: { sessionId: string; promptId: string }[] = [];
  const telegramMarkers: string[] = [];
  let kills = 0;
  let lastStart = Date.now();
  let question: { sessionId: string; promptId: string } | undefined;
  try {
    const cron = await runCli(world, ['cron', 'add', 'chaos-tick', '--config', config, '--user', 'carol', '--schedule', '*/3 * * * * *', '@reply cron tick']);
    if (cron.code !== 0) throw new Error(`cron add failed: ${cron.stderr}`);
    for (let round = 0; round < options.rounds; round += 1) {
      const submit = async (user: string, text: string, session?: string): Promise<void> => {
        const ids = await client.call<{ sessionId: string; promptId: string }>('prompt.submit', { user, text, ...(session ? { session } : { new: true, name: `r${round}-${submitted.length}` }) });
        submitted.push({ sessionId: ids.sessionId, promptId: ids.promptId });
      };
      // Alice: a slow prompt with two queued behind it in one session; Bob: two sessions at once.
      const alice = await client.call<{ sessionId: string; promptId: string }>('prompt.submit', { user: 'alice', new: true, name: `a${round}`, text: `@wait ${Math.floor(next() * 1200)}\n@reply alice ${round} one` });
      submitted.push(alice);
      await submit('alice', `@reply alice ${round} two`, alice.sessionId);
      await submit('alice', `@reply alice ${round} three`, alice.sessionId);
      await submit('bob', `@wait ${Math.floor(next() * 800)}\n@reply bob ${round} one`);
      await submit('bob', `@reply bob ${round} two`);
      if (round === 0) {
        question = await client.call<{ sessionId: string; promptId: string }>('prompt.submit', { user: 'dave', new: true, name: 'asker', text: '@tool mcp__ask_user__ask_user {"question":"which colour?","timeout":3600}\n@echo-tool' });
        await waitFor('the question', async () => (await runCli(world, ['questions', '--config', config, '--json'])).stdout.includes('which colour?'), 30_000);
      }
      const marker = `tg-${round}-${Math.floor(next() * 1e6)}`;
      telegramMarkers.push(marker);
      // No script: the reply echoes the prompt, so messages batched into one prompt are all answered by it.
      telegram.injectMessage({ from: ALICE, text: `answer ${marker}` });

      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(next() * 1800)));
      client.close();
      await daemon.kill();
      kills += 1;
      log(`round ${round + 1}/${options.rounds}: killed the daemon`);
      daemon = await startDaemonProcess(world, ['--config', config]);
      lastStart = Date.now();
      client = await connectAsAdmin(world.stateDir);
    }

    // Everything settles: every prompt finishes, the question is answered, the chat is answered.
    const finished = new Map<string, PromptRecord>();
    let queuedLost = 0;
    for (const ids of submitted) {
      try {
        const answer = await client.call<{ prompt: PromptRecord }>('prompt.wait', { session: ids.sessionId, prompt: ids.promptId }, { timeoutMs: 120_000 });
        finished.set(ids.promptId, answer.prompt);
      } catch (error) {
        queuedLost += 1;
        const listed = await client.call<{ id: string }[]>('session.list', {}).catch(() => []);
        log(`prompt ${ids.promptId} did not finish: ${(error as Error).message} (${new Date().toISOString()}; the daemon lists ${listed.length} sessions${listed.some((s) => s.id === ids.sessionId) ? ', this one among them' : ''})`);
      }
    }
    // The question must survive every kill: still open and answerable. Its answer reaches the session
    // either through the resumed tool call or, when the session's CLI gave up on the call during a
    // restart, as a prompt of its own after that turn ended.
    let questionsLost = 0;
    let questionsAnswered = 0;
    let questionsCancelled = 0;
    if (question) {
      const asker = question;
      // A call its CLI did not resume is given up 20 s after the start: answer after that.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastStart + 23_000 - Date.now())));
      const all = JSON.parse((await runCli(world, ['questions', '--all', '--config', config, '--json'])).stdout) as { id: string; question: string; status: string; reason?: string }[];
      const asked = all.find((q) => q.question === 'which colour?');
      if (!asked) questionsLost = 1;
      else if (asked.status === 'cancelled' && asked.reason) questionsCancelled = 1;
      else if (asked.status !== 'open') questionsLost = 1;
      else {
        await runCli(world, ['answer', asked.id, 'teal', '--config', config]);
        const answered = await client.call<{ prompt: PromptRecord }>('prompt.wait', { session: asker.sessionId, prompt: asker.promptId }, { timeoutMs: 60_000 }).catch(() => undefined);
        const lateAnswer = async (): Promise<PromptRecord | undefined> => {
          const followUp = readEventLog(world).find((event) => event.type === 'result' && event.session === asker.sessionId && event.prompt !== asker.promptId);
          if (!followUp) return undefined;
          return (await client.call<{ prompt: PromptRecord }>('prompt.wait', { session: asker.sessionId, prompt: String(followUp.prompt) }, { timeoutMs: 60_000 })).prompt;
        };
        let reply = answered?.prompt.result?.text;
        // The asking turn ended without the answer (its CLI gave up on the call): it comes as a prompt of its own.
        if (!reply?.includes('teal') && answered?.prompt.result) {
          await waitFor('the answer as a prompt of its own', async () => (await lateAnswer()) !== undefined, 60_000).catch(() => undefined);
          reply = (await lateAnswer())?.result?.text;
        }
        if (reply?.includes('teal')) questionsAnswered = 1;
        else questionsLost = 1;
      }
    }
    const botTexts = (): string[] => telegram.messages(ALICE.id).filter((m) => m.sender === 'bot').map((m) => m.text);
    await waitFor('the chat answered', () => telegramMarkers.every((marker) => botTexts().some((text) => text.includes(marker) && /— \$\d/.test(text))), 60_000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const resultEvents = readEventLog(world).filter((event) => event.type === 'result');
    const perPrompt = new Map<string, number>();
    for (const event of resultEvents) perPrompt.set(String(event.prompt), (perPrompt.get(String(event.prompt)) ?? 0) + 1);
    const delivered = fs
      .readFileSync(path.join(world.stateDir, 'data', 'chaos_recorder', 'delivered.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const deliveredCount = new Map<string, number>();
    for (const id of delivered) deliveredCount.set(id, (deliveredCount.get(id) ?? 0) + 1);
    const produced = [...finished.values()].filter((p) => p.result).length;
    const answeredMarkers = telegramMarkers.map((marker) => botTexts().filter((text) => text.includes(marker) && /— \$\d/.test(text)).length);
    const cronSessions = new Set(resultEvents.map((event) => String(event.session)).filter((id) => !submitted.some((s) => s.sessionId === id) && id !== question?.sessionId));
    return {
      rounds: options.rounds,
      kills,
      prompts: {
        submitted: submitted.length,
        produced,
        lost: submitted.length - produced,
        duplicated: [...perPrompt.values()].filter((n) => n > 1).length,
      },
      deliveries: {
        delivered: [...finished.keys()].filter((id) => deliveredCount.has(id)).length,
        lost: [...finished.keys()].filter((id) => !deliveredCount.has(id)).length,
        duplicated: [...deliveredCount.values()].filter((n) => n > 1).length,
      },
      telegram: {
        sent: telegramMarkers.length,
        answered: answeredMarkers.filter((n) => n >= 1).length,
        lost: answeredMarkers.filter((n) => n === 0).length,
        duplicated: answeredMarkers.filter((n) => n > 1).length,
      },
      questions: { asked: question ? 1 : 0, answered: questionsAnswered, cancelled: questionsCancelled, lost: questionsLost },
      cronResults: resultEvents.filter((event) => cronSessions.has(String(event.session))).length,
      queuedLost,
    };
  } finally {
    client.close();
    await daemon.stop();
    await telegram.close();
    if (options.keep) {
      // The fake Bot API lives in this process: what it was asked and what the chat shows are kept with the world.
      fs.writeFileSync(path.join(world.root, 'telegram-calls.jsonl'), telegram.calls.map((call) => JSON.stringify(call)).join('\n'));
      fs.writeFileSync(path.join(world.root, 'telegram-chat.json'), JSON.stringify(telegram.messages(ALICE.id, { includeDeleted: true }), null, 2));
      log(`the world is kept in ${world.root}`);
    }
    else await world.cleanup();
  }
}

export function describeChaos(report: ChaosReport): string {
  const p = report.prompts;
  const d = report.deliveries;
  const t = report.telegram;
  return [
    `chaos: ${report.rounds} rounds, ${report.kills} SIGKILLs of the daemon`,
    `  prompts:    ${p.submitted} submitted, ${p.produced} results produced, ${p.lost} lost, ${p.duplicated} duplicated; queued prompts lost: ${report.queuedLost}`,
    `  deliveries: ${d.delivered} delivered to an extension, ${d.lost} lost, ${d.duplicated} duplicated`,
    `  telegram:   ${t.sent} messages, ${t.answered} answered, ${t.lost} lost, ${t.duplicated} duplicated`,
    `  questions:  ${report.questions.asked} asked, ${report.questions.answered} answered, ${report.questions.cancelled} cancelled with the reason, ${report.questions.lost} lost`,
    `  cron:       ${report.cronResults} results of a job firing every 3 s`,
  ].join('\n');
}

/**
 * The chaos workload with a few rounds (`npm run chaos` runs twenty): nothing lost, nothing twice,
 * whenever the daemon is killed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeChaos, runChaos } from '../support/chaos.ts';

test('SIGKILLs of the daemon under a mixed load lose and duplicate nothing', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
  const report = await runChaos({ rounds: Number(process.env.CHAOS_ROUNDS ?? 3), seed });
  const summary = `seed ${seed}\n${describeChaos(report)}`;
  assert.equal(report.kills, report.rounds, summary);
  assert.equal(report.prompts.produced, report.prompts.submitted, summary);
  assert.deepEqual(
    { promptsLost: report.prompts.lost, promptsDuplicated: report.prompts.duplicated, deliveriesLost: report.deliveries.lost, deliveriesDuplicated: report.deliveries.duplicated, telegramLost: report.telegram.lost, telegramDuplicated: report.telegram.duplicated, questionsLost: report.questions.lost, queuedLost: report.queuedLost },
    { promptsLost: 0, promptsDuplicated: 0, deliveriesLost: 0, deliveriesDuplicated: 0, telegramLost: 0, telegramDuplicated: 0, questionsLost: 0, queuedLost: 0 },
    summary,
  );
  assert.equal(report.questions.answered, report.questions.asked, `the open question was answered after the kills\n${summary}`);
  assert.ok(report.cronResults > 0, `the cron job ran\n${summary}`);
});

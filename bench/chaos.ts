/**
 * `npm run chaos`: the chaos workload of test/support/chaos.ts, CHAOS_ROUNDS rounds (default 20),
 * CHAOS_SEED to repeat a run, CHAOS_KEEP=1 to keep its state dir and logs. Prints what was produced, delivered, lost and duplicated; exits 1 when
 * anything was lost or duplicated.
 */
import { describeChaos, runChaos } from '../test/support/chaos.ts';

const rounds = Number(process.env.CHAOS_ROUNDS ?? 20);
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
console.log(`chaos seed ${seed} (CHAOS_SEED=${seed} repeats it)`);
const report = await runChaos({ rounds, seed, keep: process.env.CHAOS_KEEP === '1', log: (line) => console.log(line) });
console.log(describeChaos(report));
const bad = report.prompts.lost + report.prompts.duplicated + report.deliveries.lost + report.deliveries.duplicated + report.telegram.lost + report.telegram.duplicated + report.questions.lost + report.queuedLost;
process.exitCode = bad === 0 ? 0 : 1;

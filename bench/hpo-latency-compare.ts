/**
 * ask() latency of two versions of the HPO engine side by side, interleaved (10 asks of one,
 * then 10 of the other, on equal histories) so that both see the same load on a shared box.
 * The baseline is a copy of an older commit's sources:
 *
 *   mkdir -p /tmp/hpo-base && git archive <commit> processors/hpo bench/hpo-harness.ts common/errors.ts | tar -x -C /tmp/hpo-base
 *   HPO_BASELINE=/tmp/hpo-base npx tsx bench/hpo-latency-compare.ts [tpe,auto]
 *
 * Prints a Markdown table; raw numbers go to bench/results/hpo-latency-compare.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import type { StrategyName, Study } from '../processors/hpo/index.ts';
import * as current from './hpo-harness.ts';
import { machineLine } from './hpo-harness.ts';

interface Harness {
  studyWithHistory(strategy: StrategyName, d: number, history: number, extra: number): Study;
  shiftedSphere(params: Record<string, number | string>): number;
}

const baselineDir = process.env.HPO_BASELINE;
if (!baselineDir) throw new Error('HPO_BASELINE must name a directory with the baseline sources (see the header)');
const baseline = (await import(join(baselineDir, 'bench', 'hpo-harness.ts'))) as Harness;
const strategies = (process.argv[2] ?? 'tpe,auto').split(',') as StrategyName[];
const grid = [2, 10, 50, 200].flatMap((d) => [100, 1000].map((history) => ({ d, history })));
const machine = await machineLine();
const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
};
const f = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
const rows: Array<{ strategy: string; d: number; history: number; before: { p50: number; p99: number; ran: string[] }; after: { p50: number; p99: number; ran: string[] } }> = [];
for (const strategy of strategies) {
  for (const { d, history } of grid) {
    const repeats = d * history >= 50_000 ? 50 : 200;
    const sides = [baseline, current as Harness].map((harness) => ({ harness, study: harness.studyWithHistory(strategy, d, history, repeats + 60), times: [] as number[], ran: new Set<string>() }));
    for (let done = 0; done < repeats; done += 10) {
      for (const side of sides) {
        for (let i = 0; i < 10; i++) {
          const started = process.hrtime.bigint();
          const trial = side.study.ask();
          side.times.push(Number(process.hrtime.bigint() - started) / 1e3);
          side.ran.add(trial.strategy);
          side.study.tell(trial.trialId, side.harness.shiftedSphere(trial.params));
        }
      }
    }
    const [b, a] = sides.map((s) => ({ p50: quantile(s.times, 0.5), p99: quantile(s.times, 0.99), ran: [...s.ran] })) as [typeof rows[number]['before'], typeof rows[number]['after']];
    rows.push({ strategy, d, history, before: b, after: a });
  }
}
const lines = [
  `Machine: ${machine}; date ${new Date().toISOString()}; baseline ${baselineDir}.`,
  '',
  '| strategy | d | history | before p50 | after p50 | before p99 | after p99 | p50 before / after | ran (after) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.strategy} | ${r.d} | ${r.history} | ${f(r.before.p50)} | ${f(r.after.p50)} | ${f(r.before.p99)} | ${f(r.after.p99)} | ${(r.before.p50 / r.after.p50).toPrecision(2)}x | ${r.after.ran.join(', ')} |`),
];
console.log(lines.join('\n'));
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'hpo-latency-compare.json'), JSON.stringify({ machine, date: new Date().toISOString(), baseline: baselineDir, rows }, null, 2));

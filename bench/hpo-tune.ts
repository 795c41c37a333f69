/**
 * Development aid for 'auto' and TPE: runs our studies on a subset of the quality bench's
 * problems, seeds and budgets with given study options, and compares the median best with
 * Optuna's per-seed results in the cache (bench/hpo-optuna-results.json; fill it with
 * `npx tsx bench/hpo-optuna.ts --seeds=11-20`). Tuning happens on seeds that the published
 * figures do not use.
 *
 *   npx tsx bench/hpo-tune.ts [--problems=hartmann6-6d,cat-ackley-8d] [--seeds=11-20] [--budgets=100,500] [--options='{"strategy":"tpe"}']
 */
import { createStudy, type StudyOptions } from '../processors/hpo/index.ts';
import { QUALITY_PROBLEMS } from './hpo-functions.ts';
import { cachedRun, loadOptunaCache } from './hpo-optuna.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const filter = arg('problems')?.split(',');
const problems = QUALITY_PROBLEMS.filter((p) => !filter || filter.some((f) => p.name.startsWith(f)));
const [from, to] = (arg('seeds') ?? '11-20').split('-').map(Number) as [number, number];
const seeds = Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
const budgets = (arg('budgets') ?? '100,200,500').split(',').map(Number);
const extra = JSON.parse(arg('options') ?? '{}') as Partial<StudyOptions>;
const cache = loadOptunaCache();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const f = (v: number) => (Number.isNaN(v) ? 'n/a' : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(4));
let held = 0;
let lost = 0;
const started = Date.now();
for (const budget of budgets) {
  for (const problem of problems) {
    const bests: number[] = [];
    const theirs: number[] = [];
    let seedWins = 0;
    for (const seed of seeds) {
      const study = createStudy({ params: problem.params, objectives: [{ name: 'y', direction: 'MINIMIZE' }], budget, seed, ...extra });
      while (!study.isDone()) {
        const trial = study.ask();
        study.tell(trial.trialId, problem.evaluate(trial.params));
      }
      const best = study.best()!.value;
      bests.push(best);
      const o = cachedRun(cache, problem.name, seed, budget)?.budgets[String(budget)]?.best;
      if (o !== undefined) {
        theirs.push(o);
        if (best < o) seedWins++;
      }
    }
    const a = median(bests);
    const o = theirs.length === seeds.length ? median(theirs) : NaN;
    const verdict = Number.isNaN(o) ? '' : a <= o ? 'ok' : 'LOSS';
    if (verdict === 'ok') held++;
    else if (verdict === 'LOSS') lost++;
    console.log(`${String(budget).padStart(3)} ${problem.name.padEnd(21)} ours ${f(a).padStart(9)}  optuna ${f(o).padStart(9)}  ${verdict.padEnd(4)} seeds ${seedWins}/${seeds.length}  [${bests.map(f).join(' ')}]`);
  }
}
console.log(`ok ${held}, lost ${lost}; ${((Date.now() - started) / 1000).toFixed(1)} s`);

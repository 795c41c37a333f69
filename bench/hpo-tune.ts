/**
 * Development aid for 'auto' and TPE: runs our studies with one or more sets of study options
 * on a subset of the quality bench's problems, seeds and budgets, and prints the median best
 * per cell beside Optuna's (from the cache, bench/hpo-optuna-results.json, where it has those
 * seeds; fill it with `npx tsx bench/hpo-optuna.ts --seeds=11-20`). Tuning uses seeds that the
 * published figures (1..10) do not.
 *
 *   npx tsx bench/hpo-tune.ts [--problems=hartmann6,cat-ackley] [--seeds=11-40] [--budgets=100,500] \
 *     [--variants='[{}, {"strategy":"tpe"}, {"auto":{"polishFraction":0.3}}]']
 *
 * Per cell: Optuna's median, then each variant's ('!' where it is worse than Optuna's). Last
 * line: per variant, the cells where it is not worse than Optuna, and its mean log gap to the
 * problem's optimum relative to the first variant's (negative: closer).
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
const variants = JSON.parse(arg('variants') ?? arg('options') ?? '[{}]') as Partial<StudyOptions> | Partial<StudyOptions>[];
const list = Array.isArray(variants) ? variants : [variants];
const cache = loadOptunaCache();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const f = (v: number) => (Number.isNaN(v) ? 'n/a' : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(4));
const notWorse = list.map(() => 0);
const logGap = list.map(() => 0);
let cells = 0;
const started = Date.now();
for (const budget of budgets) {
  for (const problem of problems) {
    const medians = list.map((options) =>
      median(
        seeds.map((seed) => {
          const study = createStudy({ params: problem.params, objectives: [{ name: 'y', direction: 'MINIMIZE' }], budget, seed, ...options });
          while (!study.isDone()) {
            const trial = study.ask();
            study.tell(trial.trialId, problem.evaluate(trial.params));
          }
          return study.best()!.value;
        }),
      ),
    );
    const theirs = seeds.map((s) => cachedRun(cache, problem.name, s, budget)?.budgets[String(budget)]?.best);
    const optuna = theirs.every((v) => v !== undefined) ? median(theirs as number[]) : NaN;
    const floor = problem.minimum ?? Math.min(...medians, Number.isNaN(optuna) ? Infinity : optuna) - 1e-9;
    const worse = (m: number) => !Number.isNaN(optuna) && m > optuna + 1e-12 * Math.max(1, Math.abs(optuna));
    cells++;
    medians.forEach((m, i) => {
      if (!Number.isNaN(optuna) && !worse(m)) notWorse[i]!++;
      logGap[i]! += Math.log((m - floor + 1e-12) / ((medians[0] as number) - floor + 1e-12));
    });
    console.log(`${String(budget).padStart(3)} ${problem.name.padEnd(21)} optuna ${f(optuna).padStart(9)} | ${medians.map((m) => `${f(m).padStart(9)}${worse(m) ? '!' : ' '}`).join(' ')}`);
  }
}
console.log(`${cells} cells; not worse than Optuna: ${notWorse.join(' / ')}; mean log gap to the optimum vs variant 0: ${logGap.map((l) => (l / cells).toFixed(3)).join(' / ')}; ${((Date.now() - started) / 1000).toFixed(0)} s`);

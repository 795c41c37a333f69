/**
 * Optimisation quality against Optuna's TPESampler (the baseline, from PyPI; the defaults of
 * the installed version: in Optuna 5 that is multivariate TPE with 10 random start-up trials
 * and 24 candidates), and ask() latency side by side.
 *
 * Problems (bench/hpo-functions.ts): continuous test functions (Branin, Hartmann-6, Rosenbrock,
 * Rastrigin, Ackley at 2, 5 and 10 dimensions) and four mixed integer/categorical problems
 * (bench/hpo-mixed.ts: the tabular LambdaMART benchmark, a training-run surface, an
 * integer-heavy rotated ellipsoid, a categorical-heavy shifted Ackley). Budgets 100, 200 and
 * 500, seeds 1..10 by default: the median best value per (problem, budget) cell, ours with
 * 'auto' (the default) and with 'tpe' alone. Optuna's per-seed results come from the committed
 * cache bench/hpo-optuna-results.json (deterministic; missing cells are run and added), the
 * latency grid is measured in this run: Optuna's first, then ours, at equal history and dimension.
 *
 *   npx tsx bench/hpo-quality.ts [--seeds=1-10] [--budgets=100,200,500] [--problems=a,b] [--no-latency]
 *
 * Prints Markdown; raw numbers go to bench/results/hpo-quality.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import { createStudy, type StrategyName } from '../processors/hpo/index.ts';
import { QUALITY_PROBLEMS, type QualityProblem } from './hpo-functions.ts';
import { machineLine, studyWithHistory, timeAsks } from './hpo-harness.ts';
import { cachedRun, loadOptunaCache, type OptunaLatency, runOptuna, saveOptunaCache } from './hpo-optuna.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const [seedFrom, seedTo] = (arg('seeds') ?? '1-10').split('-').map(Number) as [number, number];
const SEEDS = Array.from({ length: (seedTo ?? seedFrom) - seedFrom + 1 }, (_, i) => seedFrom + i);
const BUDGETS = (arg('budgets') ?? '100,200,500').split(',').map(Number);
const filter = arg('problems')?.split(',');
const PROBLEMS = QUALITY_PROBLEMS.filter((p) => !filter || filter.includes(p.name));
const STRATEGIES: StrategyName[] = ['auto', 'tpe'];
const LATENCY_GRID = [2, 10, 50].flatMap((d) => [100, 1000].map((history) => ({ dimension: d, history, repeats: 20 })));

interface OurRun {
  problem: string;
  strategy: StrategyName;
  budget: number;
  seed: number;
  best: number;
  /** Every ask of the run, in seconds. */
  askSeconds: number;
  seconds: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function runOurs(problem: QualityProblem, strategy: StrategyName, budget: number, seed: number): OurRun {
  const started = process.hrtime.bigint();
  let ask = 0n;
  const study = createStudy({ params: problem.params, objectives: [{ name: 'y', direction: 'MINIMIZE' }], budget, seed, strategy });
  while (!study.isDone()) {
    const t = process.hrtime.bigint();
    const trial = study.ask();
    ask += process.hrtime.bigint() - t;
    study.tell(trial.trialId, problem.evaluate(trial.params));
  }
  return { problem: problem.name, strategy, budget, seed, best: study.best()!.value, askSeconds: Number(ask) / 1e9, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

const machine = await machineLine();
const started = Date.now();

// Optuna: the cache, and whatever it lacks.
const cache = loadOptunaCache();
const top = Math.max(...BUDGETS);
const missing = PROBLEMS.map((problem) => ({ problem, seeds: SEEDS.filter((s) => !cachedRun(cache, problem.name, s, top)) })).filter((q) => q.seeds.length > 0);
let optunaLatency: OptunaLatency[] = [];
let optunaVersion = cache.optuna_version;
const skipLatency = process.argv.includes('--no-latency');
if (missing.length > 0 || !skipLatency) {
  const fresh = await runOptuna(missing, BUDGETS, skipLatency ? [] : LATENCY_GRID, (line) => console.error(line));
  optunaVersion = fresh.optuna_version;
  optunaLatency = fresh.latency;
  if (fresh.quality.length > 0) {
    const done = new Set(fresh.quality.map((r) => `${r.problem}/${r.seed}`));
    cache.runs = [...cache.runs.filter((r) => !done.has(`${r.problem}/${r.seed}`)), ...fresh.quality];
    cache.optuna_version = fresh.optuna_version;
    cache.notes.push(`${new Date(started).toISOString()}: ${fresh.quality.length} runs from bench/hpo-quality.ts (${machine})`);
    saveOptunaCache(cache);
  }
}

// Ours: the latency grid first (alone on our side), then the quality runs.
const ourLatency = skipLatency
  ? []
  : LATENCY_GRID.map(({ dimension, history }) => {
      // A warm-up on another study of the same shape first: a service asks with a warm JIT.
      for (const strategy of ['tpe', 'auto'] as StrategyName[]) timeAsks(studyWithHistory(strategy, dimension, history, 70, 99), 20);
      const tpe = timeAsks(studyWithHistory('tpe', dimension, history, 70), 50);
      const auto = timeAsks(studyWithHistory('auto', dimension, history, 70), 50);
      return { dimension, history, tpe_p50_us: tpe.p50, tpe_p99_us: tpe.p99, auto_p50_us: auto.p50, auto_p99_us: auto.p99, auto_ran: auto.strategies };
    });
const ours: OurRun[] = [];
for (const problem of PROBLEMS) for (const budget of BUDGETS) for (const strategy of STRATEGIES) for (const seed of SEEDS) ours.push(runOurs(problem, strategy, budget, seed));

// --- report ---
const fmt = (v: number) => (Number.isNaN(v) ? 'n/a' : Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(4));
const us = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);
const lines: string[] = [
  `Machine: ${machine}; date ${new Date().toISOString()}; total ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  `Seeds ${SEEDS[0]}..${SEEDS[SEEDS.length - 1]} (${SEEDS.length}), budgets ${BUDGETS.join(', ')}; Optuna ${optunaVersion}, TPESampler(seed=s) defaults (bench/hpo-optuna-results.json).`,
  '',
];
interface Cell {
  problem: QualityProblem;
  budget: number;
  auto: number;
  tpe: number;
  optuna: number;
  seedsAutoBetter: number;
  seedsAutoWorse: number;
  autoAskMs: number;
  optunaAskMs: number;
}
const cells: Cell[] = [];
for (const budget of BUDGETS) {
  for (const problem of PROBLEMS) {
    const pick = (s: StrategyName) => ours.filter((r) => r.problem === problem.name && r.strategy === s && r.budget === budget);
    const auto = pick('auto');
    const theirs = SEEDS.map((s) => cachedRun(cache, problem.name, s, budget)?.budgets[String(budget)]).filter((r) => r !== undefined);
    const optuna = theirs.length === SEEDS.length ? median(theirs.map((r) => r.best)) : NaN;
    let better = 0;
    let worse = 0;
    for (const seed of SEEDS) {
      const a = auto.find((r) => r.seed === seed)?.best;
      const o = cachedRun(cache, problem.name, seed, budget)?.budgets[String(budget)]?.best;
      if (a === undefined || o === undefined) continue;
      if (a < o) better++;
      else if (a > o) worse++;
    }
    cells.push({
      problem,
      budget,
      auto: median(auto.map((r) => r.best)),
      tpe: median(pick('tpe').map((r) => r.best)),
      optuna,
      seedsAutoBetter: better,
      seedsAutoWorse: worse,
      autoAskMs: (auto.reduce((s, r) => s + r.askSeconds, 0) / (auto.length * budget)) * 1000,
      optunaAskMs: theirs.length ? (theirs.reduce((s, r) => s + r.ask_seconds, 0) / (theirs.length * budget)) * 1000 : NaN,
    });
  }
}
/** auto >= Optuna: its median best is not worse (minimised; ties count, within 1e-12 relative). */
const holds = (c: Cell) => c.auto <= c.optuna + 1e-12 * Math.max(1, Math.abs(c.optuna));
for (const budget of BUDGETS) {
  lines.push(`**Budget ${budget}** (median best of ${SEEDS.length} seeds; minimised):`, '');
  lines.push('| problem | kind | optimum | ours auto | ours tpe | Optuna TPE | auto vs Optuna | seeds auto better / worse | ask per trial: auto / Optuna |');
  lines.push('|---|---|---:|---:|---:|---:|---|---:|---:|');
  for (const c of cells.filter((x) => x.budget === budget)) {
    const verdict = Number.isNaN(c.optuna) ? 'n/a' : c.auto === c.optuna ? 'tie' : holds(c) ? 'better' : 'WORSE';
    lines.push(
      `| ${c.problem.name} | ${c.problem.kind} | ${c.problem.minimum === null ? '' : fmt(c.problem.minimum)} | **${fmt(c.auto)}** | ${fmt(c.tpe)} | ${fmt(c.optuna)} | ${verdict} | ${c.seedsAutoBetter} / ${c.seedsAutoWorse} | ${c.autoAskMs.toFixed(3)} / ${Number.isNaN(c.optunaAskMs) ? 'n/a' : c.optunaAskMs.toFixed(2)} ms |`,
    );
  }
  lines.push('');
}
const scored = cells.filter((c) => !Number.isNaN(c.optuna));
const held = scored.filter(holds);
const mixed = scored.filter((c) => c.problem.kind === 'mixed');
lines.push(
  `**Bar: auto >= Optuna on ${held.length} of ${scored.length} cells (${((100 * held.length) / Math.max(1, scored.length)).toFixed(0)}%; needed 90%)**; mixed cells ${mixed.filter(holds).length} of ${mixed.length}; per budget: ${BUDGETS.map((b) => `${b}: ${scored.filter((c) => c.budget === b && holds(c)).length}/${scored.filter((c) => c.budget === b).length}`).join(', ')}.`,
);
const failing = scored.filter((c) => !holds(c));
if (failing.length) lines.push(`Cells where Optuna's median is better: ${failing.map((c) => `${c.problem.name}@${c.budget} (${fmt(c.auto)} vs ${fmt(c.optuna)})`).join('; ')}.`);
lines.push('');

// Improvement with budget: the median best at each budget (no late stall means the 500 column keeps improving).
if (BUDGETS.length > 1) {
  lines.push(`**More budget, better results** (median best at ${BUDGETS.join(' → ')}; and the seeds whose best improved from ${BUDGETS[BUDGETS.length - 2]} to ${top}):`, '');
  lines.push(`| problem | ours auto | Optuna TPE | auto seeds improved ${BUDGETS[BUDGETS.length - 2]}→${top} |`);
  lines.push('|---|---|---|---:|');
  for (const problem of PROBLEMS) {
    const row = (get: (c: Cell) => number) => BUDGETS.map((b) => fmt(get(cells.find((c) => c.problem === problem && c.budget === b)!))).join(' → ');
    const prev = BUDGETS[BUDGETS.length - 2]!;
    const improved = SEEDS.filter((s) => {
      const at = (b: number) => ours.find((r) => r.problem === problem.name && r.strategy === 'auto' && r.budget === b && r.seed === s)?.best ?? NaN;
      return at(top) < at(prev);
    }).length;
    lines.push(`| ${problem.name} | ${row((c) => c.auto)} | ${row((c) => c.optuna)} | ${improved}/${SEEDS.length} |`);
  }
  lines.push('');
}

if (!skipLatency) {
  lines.push('**ask() latency at equal history and dimension** (Optuna: TPE, history of completed random trials, ask with all parameters sampled, measured first; ours: history from a Sobol run, see bench/hpo-harness.ts, measured right after, each cell after 20 untimed asks on another study of the same shape):', '');
  lines.push('| d | history | Optuna p50 | ours tpe p50 | ours auto p50 (ran) | Optuna / tpe | Optuna / auto | ours tpe p99 | ours auto p99 | Optuna p99 |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of ourLatency) {
    const o = optunaLatency.find((l) => l.dimension === r.dimension && l.history === r.history);
    lines.push(
      `| ${r.dimension} | ${r.history} | ${o ? us(o.p50_us) : 'n/a'} | ${us(r.tpe_p50_us)} | ${us(r.auto_p50_us)} (${r.auto_ran.join(', ')}) | ${o ? `${(o.p50_us / r.tpe_p50_us).toFixed(0)}x` : ''} | ${o ? `${(o.p50_us / r.auto_p50_us).toFixed(0)}x` : ''} | ${us(r.tpe_p99_us)} | ${us(r.auto_p99_us)} | ${o ? us(o.p99_us) : ''} |`,
    );
  }
}
console.log(lines.join('\n'));
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'hpo-quality.json'), JSON.stringify({ machine, date: new Date().toISOString(), budgets: BUDGETS, seeds: SEEDS, ours, ourLatency, optunaLatency, cells: cells.map((c) => ({ ...c, problem: c.problem.name })) }, null, 1));
writeFileSync(join(dir, 'hpo-quality.md'), lines.join('\n') + '\n');

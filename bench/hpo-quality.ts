/**
 * Optimisation quality against Optuna's TPESampler (the baseline, from PyPI; the defaults of
 * the installed version: in Optuna 5 that is multivariate TPE with 10 random start-up trials
 * and 24 candidates). Same functions, same domains, same budget, 10 seeds each: the median
 * best value side by side, ours with 'auto' (the default) and with 'tpe' alone. Then ask()
 * latency side by side at equal history and dimension. Prints Markdown; raw numbers go to
 * bench/results/hpo-quality.json. HPO_SEEDS (default 10) and HPO_SEED_FROM (default 1) pick the seeds.
 *
 * Optuna runs in .cache/bench-venv (`python3 -m venv .cache/bench-venv && .cache/bench-venv/bin/pip install optuna`),
 * two worker processes, while the TypeScript runs go on in this process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import { createStudy, type StrategyName } from '../processors/hpo/index.ts';
import { evaluateConfig, paramsOf, QUALITY_PROBLEMS } from './hpo-functions.ts';
import { machineLine, studyWithHistory, timeAsks } from './hpo-harness.ts';

const PYTHON = process.env.BENCH_PYTHON ?? join(REPO_ROOT, '.cache', 'bench-venv', 'bin', 'python');
const BUDGET = Number(process.env.HPO_BUDGET ?? 100);
const SEEDS = Array.from({ length: Number(process.env.HPO_SEEDS ?? 10) }, (_, i) => i + Number(process.env.HPO_SEED_FROM ?? 1));
const PROBLEMS = QUALITY_PROBLEMS;
const LATENCY_GRID = [2, 10, 50].flatMap((d) => [100, 1000].map((history) => ({ dimension: d, history, repeats: 20 })));

interface OptunaResult {
  optuna_version: string;
  quality: Array<{ function: string; dimension: number; budget: number; seed: number; best: number; seconds: number }>;
  latency: Array<{ dimension: number; history: number; repeats: number; p50_us: number; p99_us: number }>;
}

function runOptuna(): Promise<OptunaResult | { error: string }> {
  const job = {
    quality: PROBLEMS.map((p) => ({ function: p.key, dimension: p.fn.dimension, budget: BUDGET, seeds: SEEDS })),
    latency: LATENCY_GRID,
    workers: 2,
  };
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [join(REPO_ROOT, 'bench', 'optuna_baseline.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => resolve({ error: e.message }));
    child.on('close', (code) => {
      if (code !== 0) resolve({ error: `exit ${code}: ${err.slice(-500)}` });
      else resolve(JSON.parse(out) as OptunaResult);
    });
    child.stdin.end(JSON.stringify(job));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const machine = await machineLine();
const started = Date.now();
const optunaPromise = runOptuna();

const ours: Array<{ problem: string; strategy: StrategyName; seed: number; best: number; seconds: number }> = [];
for (const { fn } of PROBLEMS) {
  for (const strategy of ['auto', 'tpe'] as StrategyName[]) {
    for (const seed of SEEDS) {
      const t = process.hrtime.bigint();
      const study = createStudy({ params: paramsOf(fn), objectives: [{ name: 'y', direction: 'MINIMIZE' }], budget: BUDGET, seed, strategy });
      while (!study.isDone()) {
        const trial = study.ask();
        study.tell(trial.trialId, evaluateConfig(fn, trial.params));
      }
      ours.push({ problem: fn.name, strategy, seed, best: study.best()!.value, seconds: Number(process.hrtime.bigint() - t) / 1e9 });
    }
  }
}
const ourLatency = LATENCY_GRID.map(({ dimension, history }) => {
  const tpe = timeAsks(studyWithHistory('tpe', dimension, history, 70), 50);
  return { dimension, history, p50_us: tpe.p50, p99_us: tpe.p99 };
});

const optuna = await optunaPromise;
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(4));
const us = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);
const rows: string[] = [];
let autoWins = 0;
let autoTies = 0;
for (const { key, fn } of PROBLEMS) {
  const pick = (s: StrategyName) => ours.filter((r) => r.problem === fn.name && r.strategy === s);
  const auto = pick('auto');
  const tpe = pick('tpe');
  const theirs = 'error' in optuna ? [] : optuna.quality.filter((q) => q.function === key && q.dimension === fn.dimension);
  const a = median(auto.map((r) => r.best));
  const o = theirs.length ? median(theirs.map((q) => q.best)) : NaN;
  const better = a < o - 1e-9 * Math.max(1, Math.abs(o));
  const tie = Math.abs(a - o) <= 1e-3 * Math.max(1, Math.abs(o));
  if (tie) autoTies++;
  else if (better) autoWins++;
  const winsBySeed = theirs.length ? SEEDS.filter((s) => (auto.find((r) => r.seed === s)?.best ?? Infinity) < (theirs.find((q) => q.seed === s)?.best ?? -Infinity)).length : 0;
  rows.push(
    `| ${fn.name} | ${fn.minimum} | **${fmt(a)}** | ${fmt(median(tpe.map((r) => r.best)))} | ${Number.isNaN(o) ? 'n/a' : fmt(o)} | ${winsBySeed}/${SEEDS.length} | ${(median(auto.map((r) => r.seconds)) * 1000).toFixed(0)} ms | ${theirs.length ? `${(median(theirs.map((q) => q.seconds)) * 1000).toFixed(0)} ms` : ''} |`,
  );
}
const lines = [
  `Machine: ${machine}; date ${new Date().toISOString()}; total ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  `Budget ${BUDGET} evaluations, seeds ${SEEDS[0]}..${SEEDS[SEEDS.length - 1]}; ${'error' in optuna ? `Optuna failed: ${optuna.error}` : `Optuna ${optuna.optuna_version}, TPESampler(seed=s) defaults`}.`,
  '',
  '| function | optimum | ours auto (median best) | ours tpe | Optuna TPE | seeds auto < Optuna | ours auto run time | Optuna run time |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows,
  '',
  `auto's median is better than Optuna's on ${autoWins} of ${PROBLEMS.length} problems, within 0.1% on ${autoTies}, worse on ${PROBLEMS.length - autoWins - autoTies}.`,
  '',
  '**ask() latency at equal history and dimension** (TPE on both sides; ours: history from a Sobol run, see bench/hpo-harness.ts; Optuna: history of completed random trials, ask with all parameters sampled):',
  '',
  '| d | history | ours TPE p50 | ours TPE p99 | Optuna p50 | Optuna p99 |',
  '|---:|---:|---:|---:|---:|---:|',
  ...ourLatency.map((r) => {
    const o = 'error' in optuna ? undefined : optuna.latency.find((l) => l.dimension === r.dimension && l.history === r.history);
    return `| ${r.dimension} | ${r.history} | ${us(r.p50_us)} | ${us(r.p99_us)} | ${o ? us(o.p50_us) : 'n/a'} | ${o ? us(o.p99_us) : 'n/a'} |`;
  }),
];
console.log(lines.join('\n'));
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'hpo-quality.json'), JSON.stringify({ machine, date: new Date().toISOString(), budget: BUDGET, seeds: SEEDS, ours, ourLatency, optuna }, null, 2));
writeFileSync(join(dir, 'hpo-quality.md'), lines.join('\n') + '\n');

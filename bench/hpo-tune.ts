/**
 * Development aid for the 'auto' strategy and TPE: runs our studies on a subset of the quality
 * bench's problems and seeds with given study options, and compares the median best with
 * Optuna's per-seed results cached by `bench/hpo-quality.ts` (bench/results/hpo-quality.json)
 * and, for extra seeds, bench/results/hpo-optuna-seeds.json (written by `--optuna`).
 *
 *   npx tsx bench/hpo-tune.ts [--problems=hartmann6,rastrigin-10d] [--seeds=1-10] [--options='{"strategy":"tpe"}']
 *   npx tsx bench/hpo-tune.ts --optuna --seeds=11-20      # caches Optuna's results for those seeds
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import { createStudy, type StudyOptions } from '../processors/hpo/index.ts';
import { evaluateConfig, paramsOf, QUALITY_PROBLEMS } from './hpo-functions.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const PROBLEMS = QUALITY_PROBLEMS;
const filter = arg('problems')?.split(',');
const problems = PROBLEMS.filter((p) => !filter || filter.some((f) => p.fn.name.startsWith(f)));
const [from, to] = (arg('seeds') ?? '1-10').split('-').map(Number) as [number, number];
const seeds = Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
const budget = Number(arg('budget') ?? 100);
const extra = JSON.parse(arg('options') ?? '{}') as Partial<StudyOptions>;
const CACHE = join(REPO_ROOT, 'bench', 'results', 'hpo-optuna-seeds.json');
const PYTHON = process.env.BENCH_PYTHON ?? join(REPO_ROOT, '.cache', 'bench-venv', 'bin', 'python');

type Row = { function: string; dimension: number; budget: number; seed: number; best: number };

function loadOptuna(): Row[] {
  const rows: Row[] = [];
  const main = join(REPO_ROOT, 'bench', 'results', 'hpo-quality.json');
  if (existsSync(main)) rows.push(...((JSON.parse(readFileSync(main, 'utf8')) as { optuna: { quality?: Row[] } }).optuna.quality ?? []));
  if (existsSync(CACHE)) rows.push(...(JSON.parse(readFileSync(CACHE, 'utf8')) as Row[]));
  return rows;
}

if (process.argv.includes('--optuna')) {
  const job = { quality: problems.map((p) => ({ function: p.key, dimension: p.fn.dimension, budget, seeds })), latency: [], workers: 2 };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(PYTHON, [join(REPO_ROOT, 'bench', 'optuna_baseline.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`optuna exit ${code}`))));
    child.stdin.end(JSON.stringify(job));
  });
  const fresh = (JSON.parse(out) as { quality: Row[] }).quality;
  const old = existsSync(CACHE) ? (JSON.parse(readFileSync(CACHE, 'utf8')) as Row[]) : [];
  const key = (r: Row) => `${r.function}/${r.dimension}/${r.budget}/${r.seed}`;
  const merged = new Map(old.map((r) => [key(r), r]));
  for (const r of fresh) merged.set(key(r), r);
  writeFileSync(CACHE, JSON.stringify([...merged.values()], null, 1));
  console.log(`cached ${fresh.length} Optuna runs`);
  process.exit(0);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const optuna = loadOptuna();
let wins = 0;
let losses = 0;
const started = Date.now();
for (const { key, fn } of problems) {
  const bests: number[] = [];
  const theirs: number[] = [];
  let seedWins = 0;
  for (const seed of seeds) {
    const study = createStudy({ params: paramsOf(fn), objectives: [{ name: 'y', direction: 'MINIMIZE' }], budget, seed, ...extra });
    while (!study.isDone()) {
      const trial = study.ask();
      study.tell(trial.trialId, evaluateConfig(fn, trial.params));
    }
    const best = study.best()!.value;
    bests.push(best);
    const o = optuna.find((r) => r.function === key && r.dimension === fn.dimension && r.budget === budget && r.seed === seed)?.best;
    if (o !== undefined) {
      theirs.push(o);
      if (best < o) seedWins++;
    }
  }
  const a = median(bests);
  const o = theirs.length === seeds.length ? median(theirs) : NaN;
  const verdict = Number.isNaN(o) ? '' : Math.abs(a - o) <= 1e-3 * Math.max(1, Math.abs(o)) ? 'tie' : a < o ? 'WIN' : 'LOSS';
  if (verdict === 'WIN' || verdict === 'tie') wins++;
  else if (verdict === 'LOSS') losses++;
  const f = (v: number) => (Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(4));
  console.log(`${fn.name.padEnd(15)} ours ${f(a).padStart(9)}  optuna ${f(o).padStart(9)}  ${verdict.padEnd(4)} seeds ${seedWins}/${seeds.length}  [${bests.map(f).join(' ')}]`);
}
console.log(`ok ${wins}, lost ${losses}; ${((Date.now() - started) / 1000).toFixed(1)} s`);

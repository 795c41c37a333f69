/**
 * Optuna's side of the HPO quality bench: runs bench/optuna_baseline.py (Optuna from PyPI in
 * .cache/bench-venv; `make bench-venv`) and keeps its per-seed results in a committed cache,
 * bench/hpo-optuna-results.json. Optuna's TPE is seeded and deterministic, so a cached result
 * is what a fresh run would give; the cache saves the hour that 500-trial Optuna runs of every
 * problem and seed take on the 2-core bench box, and lets the bench run without Python.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import type { QualityProblem } from './hpo-functions.ts';

export const OPTUNA_CACHE = join(REPO_ROOT, 'bench', 'hpo-optuna-results.json');
const PYTHON = process.env.BENCH_PYTHON ?? join(REPO_ROOT, '.cache', 'bench-venv', 'bin', 'python');

export interface OptunaRun {
  problem: string;
  seed: number;
  /** By budget: the best value after that many trials, the run's time so far and the time spent in ask(). */
  budgets: Record<string, { best: number; seconds: number; ask_seconds: number }>;
}

export interface OptunaLatency {
  dimension: number;
  history: number;
  repeats: number;
  p50_us: number;
  p99_us: number;
}

export interface OptunaCache {
  optuna_version: string;
  /** When and where each batch of runs was made. */
  notes: string[];
  runs: OptunaRun[];
}

export function loadOptunaCache(): OptunaCache {
  if (!existsSync(OPTUNA_CACHE)) return { optuna_version: '', notes: [], runs: [] };
  return JSON.parse(readFileSync(OPTUNA_CACHE, 'utf8')) as OptunaCache;
}

export function saveOptunaCache(cache: OptunaCache): void {
  const runs = [...cache.runs].sort((a, b) => a.problem.localeCompare(b.problem) || a.seed - b.seed);
  writeFileSync(OPTUNA_CACHE, JSON.stringify({ ...cache, runs }, null, 0).replace(/\{"problem"/g, '\n{"problem"') + '\n');
}

/** The cached run of (problem, seed) that reaches `budget`, if any. */
export function cachedRun(cache: OptunaCache, problem: string, seed: number, budget: number): OptunaRun | undefined {
  return cache.runs.find((r) => r.problem === problem && r.seed === seed && r.budgets[String(budget)] !== undefined);
}

/** Runs Optuna on the given (problem, seed) pairs up to the largest budget, and/or its latency grid. */
export function runOptuna(
  quality: Array<{ problem: QualityProblem; seeds: number[] }>,
  budgets: number[],
  latency: Array<{ dimension: number; history: number; repeats: number }>,
  onProgress: (line: string) => void = () => {},
): Promise<{ optuna_version: string; quality: OptunaRun[]; latency: OptunaLatency[] }> {
  const job = {
    quality: quality.map((q) => ({ problem: q.problem.name, params: q.problem.params, budgets, seeds: q.seeds })),
    evaluator: [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'bench', 'hpo-objective-server.ts')],
    latency,
    workers: 2,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(REPO_ROOT, 'bench', 'optuna_baseline.py')], { stdio: ['pipe', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      for (const line of c.toString().split('\n')) if (line.startsWith('optuna ')) onProgress(line);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`optuna_baseline.py exit ${code}: ${err.slice(-800)}`))));
    child.stdin.end(JSON.stringify(job));
  });
}

/**
 * `npx tsx bench/hpo-optuna.ts [--problems=a,b] [--seeds=1-10] [--budgets=100,200,500]`: runs
 * Optuna for the cells the cache lacks and adds them to it.
 */
async function fillCache(): Promise<void> {
  const { QUALITY_PROBLEMS } = await import('./hpo-functions.ts');
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const filter = arg('problems')?.split(',');
  const [from, to] = (arg('seeds') ?? '1-10').split('-').map(Number) as [number, number];
  const seeds = Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
  const budgets = (arg('budgets') ?? '100,200,500').split(',').map(Number);
  const cache = loadOptunaCache();
  const top = Math.max(...budgets);
  const todo = QUALITY_PROBLEMS.filter((p) => !filter || filter.includes(p.name))
    .map((problem) => ({ problem, seeds: seeds.filter((s) => !cachedRun(cache, problem.name, s, top)) }))
    .filter((q) => q.seeds.length > 0);
  if (todo.length === 0) {
    console.log('every cell is cached');
    return;
  }
  const { loadavg, cpus } = await import('node:os');
  const started = new Date();
  const load = loadavg()[0]!.toFixed(1);
  const result = await runOptuna(todo, budgets, [], (line) => console.error(line));
  const done = new Set(result.quality.map((r) => `${r.problem}/${r.seed}`));
  cache.runs = [...cache.runs.filter((r) => !done.has(`${r.problem}/${r.seed}`)), ...result.quality];
  cache.optuna_version = result.optuna_version;
  cache.notes.push(
    `${started.toISOString()}: ${result.quality.length} runs (${todo.map((q) => q.problem.name).join(', ')}; seeds ${seeds[0]}..${seeds[seeds.length - 1]}; budgets ${budgets.join('/')}), Optuna ${result.optuna_version} TPESampler(seed) defaults, ${cpus().length} cores, 1-min load ${load} at the start`,
  );
  saveOptunaCache(cache);
  console.log(`cached ${result.quality.length} Optuna runs`);
}

if (process.argv[1]?.endsWith('hpo-optuna.ts')) await fillCache();

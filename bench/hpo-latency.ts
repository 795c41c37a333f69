/**
 * HPO engine hot paths: ask() latency per strategy at several history sizes and dimensions,
 * and the TPE kernel-density evaluation in TypeScript against gpu.js (every backend gpu.js can
 * run here), which gives the chooser's threshold. Prints Markdown; raw numbers go to
 * bench/results/hpo-latency.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import type { StrategyName } from '../processors/hpo/index.ts';
import { kdeWork, mixtureLogDensityTs } from '../processors/hpo/kde.ts';
import { type GpuJsMode, type GpuKde, gpuKdeUnavailableReason, loadGpuKde } from '../processors/hpo/kdeGpu.ts';
import { ParzenEstimator } from '../processors/hpo/parzenEstimator.ts';
import { SeededRandom } from '../processors/hpo/random.ts';
import { DEFAULT_TPE_OPTIONS } from '../processors/hpo/tpe.ts';
import { machineLine, studyWithHistory, timeAsks } from './hpo-harness.ts';

const STRATEGIES: StrategyName[] = ['sobol', 'random', 'nelder-mead', 'tpe', 'nsga2', 'auto'];
const DIMS = [2, 10, 50, 200];
const HISTORIES = [100, 1000];
const quick = process.argv.includes('--quick');
const machine = await machineLine();

const latency: Array<{ strategy: string; d: number; history: number; p50_us: number; p99_us: number; ran: string[]; repeats: number }> = [];
for (const history of HISTORIES) {
  for (const d of DIMS) {
    for (const strategy of STRATEGIES) {
      const heavy = strategy === 'tpe' || strategy === 'auto';
      const repeats = quick ? 20 : heavy && d * history >= 50_000 ? 50 : 200;
      const study = studyWithHistory(strategy, d, history, repeats + 50);
      const timing = timeAsks(study, repeats, strategy === 'nsga2');
      latency.push({ strategy, d, history, p50_us: timing.p50, p99_us: timing.p99, ran: timing.strategies, repeats });
    }
  }
}

// --- KDE: TypeScript vs gpu.js ---
const candidates = DEFAULT_TPE_OPTIONS.candidates;
const modes: Array<{ label: string; mode?: GpuJsMode }> = [{ label: 'gpu.js default' }, { label: 'gpu.js cpu', mode: 'cpu' }];
const backends = modes.map((m) => ({ ...m, kde: loadGpuKde({ mode: m.mode }) as GpuKde | null }));
const kdeRows: Array<{ d: number; components: number; work: number; ts_us: number; gpujs: Array<{ label: string; mode: string; us: number | null; maxRelError: number | null }> }> = [];

function timeFn(fn: () => Float64Array): { us: number; result: Float64Array } {
  let result = fn(); // warm-up (and kernel compilation for gpu.js)
  fn();
  const runs: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(quick ? 1e8 : 4e8);
  while (runs.length < 5 || (runs.length < 200 && process.hrtime.bigint() < deadline)) {
    const t = process.hrtime.bigint();
    result = fn();
    runs.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  runs.sort((a, b) => a - b);
  return { us: runs[Math.floor(runs.length / 2)] as number, result };
}

for (const d of [2, 5, 10, 20, 50, 100, 200]) {
  for (const m of [100, 300, 1000]) {
    const random = new SeededRandom(d * 1000 + m);
    const obs = Array.from({ length: m }, () => Float64Array.from({ length: d }, () => random.float()));
    const parzen = new ParzenEstimator({ dimension: d, choiceCounts: new Array<number>(d).fill(0) }, obs, { priorWeight: 1, bandwidth: 'neighbour' });
    const points = parzen.sample(random, candidates);
    const ts = timeFn(() => parzen.logDensity(points, candidates, mixtureLogDensityTs));
    const gpujs = backends.map((b) => {
      if (!b.kde) return { label: b.label, mode: 'unavailable', us: null, maxRelError: null };
      const kde = b.kde;
      const g = timeFn(() => parzen.logDensity(points, candidates, (mix, q) => kde.evaluate(mix, q)));
      let err = 0;
      for (let i = 0; i < candidates; i++) err = Math.max(err, Math.abs((g.result[i] as number) - (ts.result[i] as number)) / Math.max(1, Math.abs(ts.result[i] as number)));
      return { label: b.label, mode: kde.mode, us: g.us, maxRelError: err };
    });
    kdeRows.push({ d, components: m + 1, work: kdeWork(candidates, m + 1, d), ts_us: ts.us, gpujs });
  }
}
for (const b of backends) b.kde?.destroy();

// Threshold: the smallest work from which gpu.js (its best backend) is at least 10% faster at
// every larger size (10%: below that, the difference is within run-to-run noise on a shared box).
const sorted = [...kdeRows].sort((a, b) => a.work - b.work);
let threshold: number | null = null;
for (let i = sorted.length - 1; i >= 0; i--) {
  const row = sorted[i]!;
  const best = Math.min(...row.gpujs.map((g) => g.us ?? Infinity));
  if (best < 0.9 * row.ts_us) threshold = row.work;
  else break;
}

const f = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const lines = [
  `Machine: ${machine}; date ${new Date().toISOString()}.`,
  '',
  '**ask() latency** (history from a Sobol run, then one timed ask + untimed tell per repeat; `ran` is what the asks actually used):',
  '',
  '| strategy | d | history | p50 | p99 | ran |',
  '|---|---:|---:|---:|---:|---|',
  ...latency.map((r) => `| ${r.strategy} | ${r.d} | ${r.history} | ${f(r.p50_us)} | ${f(r.p99_us)} | ${r.ran.join(', ')} |`),
  '',
  `**TPE kernel density, TypeScript vs gpu.js** (${candidates} candidates x components x d; median time of one evaluation; error = max |gpu.js - TS| / max(1, |TS|)):`,
  '',
  `| d | components | work | TypeScript | ${backends.map((b) => `${b.label} (backend)`).join(' | ')} | ${backends.map((b) => `${b.label} error`).join(' | ')} |`,
  `|---:|---:|---:|---:|${backends.map(() => '---:').join('|')}|${backends.map(() => '---:').join('|')}|`,
  ...kdeRows.map((r) => `| ${r.d} | ${r.components} | ${r.work.toLocaleString('en-US')} | ${f(r.ts_us)} | ${r.gpujs.map((g) => (g.us === null ? 'unavailable' : `${f(g.us)} (${g.mode})`)).join(' | ')} | ${r.gpujs.map((g) => (g.maxRelError === null ? '' : g.maxRelError.toExponential(1))).join(' | ')} |`),
  '',
  threshold === null
    ? 'Chooser threshold: **none** — gpu.js was not 10% faster than the TypeScript loop at the largest sizes here, so `gpujsMinWork` stays `null` (TypeScript always; override with `tpe.kde`).'
    : `Chooser threshold: gpu.js from work >= ${threshold.toLocaleString('en-US')} (set \`tpe.kde.gpujsMinWork\`).`,
  gpuKdeUnavailableReason() ? `gpu.js: ${gpuKdeUnavailableReason()}` : '',
];
console.log(lines.join('\n'));
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'hpo-latency.json'), JSON.stringify({ machine, date: new Date().toISOString(), latency, kde: kdeRows, gpujsMinWork: threshold }, null, 2));
writeFileSync(join(dir, 'hpo-latency.md'), lines.join('\n') + '\n');

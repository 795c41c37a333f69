/**
 * Ranking quality and training time: this LambdaMART against LightGBM's lambdarank (the
 * baseline, from PyPI into .cache/bench-venv by `make bench-venv`), on the simulator's ranking
 * data and on generators that differ from it in kind (bench/ltr-data/), several seeds each.
 *
 * - Same data for both: each seed's training and held-out queries are written as CSV, and
 *   LightGBM's held-out scores come back to be scored by the same code as ours
 *   (processors/advisor/ltr/metrics.ts): NDCG@5, NDCG@10, MRR. Our model scores the rows as
 *   float32, as the advisor serves them; LightGBM predicts from float64.
 * - Two settings: matched (100 trees, 31 leaves, learning rate 0.1, 64 bins, at least 5 rows
 *   and a Hessian sum of 1e-3 per leaf, L2 1, on both sides) and each side's own defaults. A third
 *   LightGBM run, matched with `lambdarank_norm` off, shows what its per-query normalisation
 *   is worth (quality only).
 * - Training time on one thread, binning included on both sides (LightGBM: num_threads=1,
 *   Dataset construction and training timed inside Python; ours: in this process). The two
 *   sides alternate, LTR_REPS times each (default 3), and the median counts, so both see the
 *   same machine load.
 *
 * Prints Markdown; raw numbers go to bench/results/ltr-quality.json. Environment: LTR_SEEDS
 * (default 5), LTR_TRAIN_QUERIES (400), LTR_TEST_QUERIES (1000), LTR_REPS (3), LTR_GENERATORS
 * (comma-separated names; default all).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import { LAMBDA_MART_DEFAULTS, predict, trainLambdaMart, type LambdaMartModel, type LambdaMartOptions } from '../processors/advisor/ltr/lambdaMart.ts';
import { evaluate, type RankingQuality } from '../processors/advisor/ltr/metrics.ts';
import { RANKING_GENERATORS, trainingSet, type RankingGenerator, type RankingQuery } from './ltr-data/index.ts';

const PYTHON = process.env.BENCH_PYTHON ?? join(REPO_ROOT, '.cache', 'bench-venv', 'bin', 'python');
const SEEDS = Array.from({ length: Number(process.env.LTR_SEEDS ?? 5) }, (_, i) => i + 1);
const TRAIN_QUERIES = Number(process.env.LTR_TRAIN_QUERIES ?? 400);
const TEST_QUERIES = Number(process.env.LTR_TEST_QUERIES ?? 1000);
const REPS = Number(process.env.LTR_REPS ?? 3);
const ONLY = process.env.LTR_GENERATORS?.split(',').filter(Boolean);
const ROUNDS = 100;

interface Settings {
  name: string;
  ours: Partial<LambdaMartOptions>;
  lightgbm: Record<string, number | boolean>;
  timed: boolean;
}

const MATCHED_LIGHTGBM = { num_leaves: 31, learning_rate: 0.1, max_bin: 64, min_data_in_leaf: 5, min_sum_hessian_in_leaf: 1e-3, lambda_l2: 1 };
const SETTINGS: Settings[] = [
  { name: 'matched', ours: { trees: ROUNDS, leaves: 31, learningRate: 0.1, bins: 64, minDataInLeaf: 5, minSumHessianInLeaf: 1e-3, l2: 1 }, lightgbm: MATCHED_LIGHTGBM, timed: true },
  { name: 'defaults', ours: {}, lightgbm: {}, timed: true },
  { name: 'matched, lambdarank_norm off', ours: {}, lightgbm: { ...MATCHED_LIGHTGBM, lambdarank_norm: false }, timed: false },
];

interface Run {
  generator: string;
  seed: number;
  settings: string;
  side: 'ours' | 'lightgbm';
  quality: RankingQuality;
  seconds: number[];
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function csv(queries: readonly RankingQuery[]): string {
  const width = queries[0]?.features[0]?.length ?? 0;
  const lines = ['query,label,' + Array.from({ length: width }, (_, i) => `f${i}`).join(',')];
  queries.forEach((q, qi) => q.features.forEach((f, i) => lines.push([qi, q.labels[i], ...Array.from(f, (v) => (Number.isNaN(v) ? 'nan' : String(v)))].join(','))));
  return lines.join('\n') + '\n';
}

function lightgbm(dir: string, params: Record<string, number | boolean>): { seconds: number; predictions: number[]; version: string } {
  const out = JSON.parse(execFileSync(PYTHON, [join(REPO_ROOT, 'bench', 'lightgbm_baseline.py'), dir, JSON.stringify(params), String(ROUNDS)], { encoding: 'utf8', maxBuffer: 1 << 28 })) as {
    train_seconds: number;
    predictions: number[];
    version: string;
  };
  return { seconds: out.train_seconds, predictions: out.predictions, version: out.version };
}

function judge(test: readonly RankingQuery[], score: (row: Float64Array, k: number) => number): RankingQuality {
  let k = 0;
  return evaluate(test.map((q) => ({ scores: q.features.map((f) => score(f, k++)), labels: q.labels })));
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const loadAtStart = loadavg()[0] as number;
const startedAt = new Date().toISOString();
const dirRoot = join(REPO_ROOT, 'bench', 'results', 'ltr');
const runs: Run[] = [];
let lightgbmVersion = 'not run';
const generators = RANKING_GENERATORS.filter((g) => !ONLY || ONLY.includes(g.name));
const sizes = new Map<string, { trainRows: number; testRows: number; features: number }>();

for (const g of generators) {
  for (const seed of SEEDS) {
    const train = g.queries(TRAIN_QUERIES, 1000 * seed + 1);
    const test = g.queries(TEST_QUERIES, 1000 * seed + 2);
    const dir = join(dirRoot, `${g.name}-${seed}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'train.csv'), csv(train));
    writeFileSync(join(dir, 'test.csv'), csv(test));
    const data = trainingSet(train);
    sizes.set(g.name, { trainRows: data.labels.length, testRows: test.reduce((s, q) => s + q.labels.length, 0), features: g.featureNames.length });
    for (const s of SETTINGS) {
      const ours: Run = { generator: g.name, seed, settings: s.name, side: 'ours', quality: { ndcgAt5: 0, ndcgAt10: 0, mrr: 0, queries: 0 }, seconds: [] };
      const theirs: Run = { ...ours, side: 'lightgbm', seconds: [] };
      let model: LambdaMartModel | null = null;
      for (let rep = 0; rep < (s.timed ? REPS : 1); rep++) {
        if (s.timed) {
          const t0 = process.hrtime.bigint();
          const m = trainLambdaMart(data, s.ours);
          ours.seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
          if (model && JSON.stringify(m) !== JSON.stringify(model)) throw new Error(`${g.name} seed ${seed}: two trainings on the same data gave different models`);
          model = m;
        }
        try {
          const out = lightgbm(dir, s.lightgbm);
          lightgbmVersion = out.version;
          theirs.seconds.push(out.seconds);
          if (rep === 0) theirs.quality = judge(test, (_, k) => out.predictions[k] as number);
        } catch (err) {
          console.error(`LightGBM not run (${g.name}, seed ${seed}, ${s.name}): ${(err as Error).message.split('\n')[0]}`);
        }
      }
      if (model) {
        const m = model;
        // Rows as float32, as the advisor serves them (and ONNX scores them).
        ours.quality = judge(test, (row) => predict(m, Float32Array.from(row)));
        runs.push(ours);
      }
      if (theirs.quality.queries > 0) runs.push(theirs);
      console.error(
        `${g.name} seed ${seed} ${s.name}: ours ${model ? ours.quality.ndcgAt5.toFixed(4) : '-'} (${median(ours.seconds).toFixed(3)} s), LightGBM ${theirs.quality.ndcgAt5.toFixed(4)} (${median(theirs.seconds).toFixed(3)} s)`,
      );
    }
  }
}

const loadAtEnd = loadavg()[0] as number;
mkdirSync(dirRoot, { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'ltr-quality.json'), JSON.stringify({ machine, startedAt, loadAtStart, loadAtEnd, lightgbmVersion, runs }, null, 1));

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '-');
const signed = (x: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(4);
/** Mean and standard error of the per-seed differences (paired: same data for both). */
const paired = (d: readonly number[]) => {
  const m = mean(d);
  const se = d.length > 1 ? Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1) / d.length) : Number.NaN;
  return `${signed(m)} ± ${Number.isFinite(se) ? se.toFixed(4) : '-'}`;
};
const label = (g: RankingGenerator) => {
  const size = sizes.get(g.name);
  return `${g.name}${size ? ` (${size.trainRows.toLocaleString('en')} rows, ${size.features} features)` : ''}`;
};
const lines: string[] = [
  `Machine: ${machine}; 1-min load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end; ${startedAt}. LightGBM ${lightgbmVersion}.`,
  `Seeds ${SEEDS.join(', ')}: ${TRAIN_QUERIES} training and ${TEST_QUERIES} held-out queries each (row counts: the last seed's training set). Quality: mean over seeds. Training time: per seed the median of ${REPS} alternating runs, then the mean over seeds.`,
  `Ours by default: ${JSON.stringify(LAMBDA_MART_DEFAULTS)}. LightGBM by default: its own (31 leaves, 255 bins, 20 rows per leaf, no L2), ${ROUNDS} rounds.`,
  '',
  '| data | settings | learner | NDCG@5 | NDCG@10 | MRR | training (s) |',
  '|---|---|---|---:|---:|---:|---:|',
];
const diffs: string[] = [
  '',
  'Ours − LightGBM, paired by seed (mean ± standard error over seeds), and the training-time ratio:',
  '',
  '| data | settings | ΔNDCG@5 | ΔNDCG@5 per seed | ΔNDCG@10 | ΔMRR | time ours / LightGBM |',
  '|---|---|---:|---|---:|---:|---:|',
];
for (const g of generators) {
  for (const s of SETTINGS) {
    const pick = (side: Run['side']) => runs.filter((r) => r.generator === g.name && r.settings === s.name && r.side === side);
    for (const side of ['ours', 'lightgbm'] as const) {
      const mine = pick(side);
      if (mine.length === 0) continue;
      const seconds = mean(mine.map((r) => median(r.seconds)));
      lines.push(
        `| ${label(g)} | ${s.name} | ${side === 'ours' ? 'this LambdaMART' : 'LightGBM lambdarank'} | ${f4(mean(mine.map((r) => r.quality.ndcgAt5)))} | ${f4(mean(mine.map((r) => r.quality.ndcgAt10)))} | ${f4(mean(mine.map((r) => r.quality.mrr)))} | ${s.timed ? seconds.toFixed(3) : ''} |`,
      );
    }
    const ours = pick('ours');
    const theirs = pick('lightgbm');
    const pairs = ours.flatMap((o) => {
      const t = theirs.find((x) => x.seed === o.seed);
      return t ? [{ o, t }] : [];
    });
    if (pairs.length === 0) continue;
    const d = (k: keyof RankingQuality) => pairs.map(({ o, t }) => o.quality[k] - t.quality[k]);
    const ratio = mean(pairs.map(({ o }) => median(o.seconds))) / mean(pairs.map(({ t }) => median(t.seconds)));
    diffs.push(`| ${g.name} | ${s.name} | ${paired(d('ndcgAt5'))} | ${d('ndcgAt5').map(signed).join(', ')} | ${paired(d('ndcgAt10'))} | ${paired(d('mrr'))} | ${ratio.toFixed(2)}× |`);
  }
}
console.log([...lines, ...diffs].join('\n'));

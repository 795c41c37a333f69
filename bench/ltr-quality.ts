/**
 * Ranking quality and training time: this LambdaMART against LightGBM's lambdarank (the
 * baseline, from PyPI), same data, same number of trees, leaves, learning rate, bins and
 * minimum leaf size, side by side; the heuristic ranker as a floor. The data has a known,
 * learnable signal (simulate/rankingData.ts). NDCG and MRR are computed by the same code
 * for every ranker. Prints a Markdown table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../config/options.ts';
import { REPO_ROOT } from '../infra/local/localStack.ts';
import { rankHeuristic } from '../processors/advisor/heuristicRanker.ts';
import { predict, trainLambdaMart } from '../processors/advisor/ltr/lambdaMart.ts';
import { evaluate, type RankingQuality } from '../processors/advisor/ltr/metrics.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import { ltrQueries, type LtrQuery } from '../simulate/rankingData.ts';

const TREES = 100;
const LEAVES = 31;
const LR = 0.1;
const BINS = 64;
const MIN_LEAF = 5;
const PYTHON = process.env.BENCH_PYTHON ?? join(REPO_ROOT, '.cache', 'bench-venv', 'bin', 'python');

const train = ltrQueries(400, 11);
const test = ltrQueries(200, 12);
const dir = join(REPO_ROOT, 'bench', 'results', 'ltr');
mkdirSync(dir, { recursive: true });
const csv = (qs: LtrQuery[]) =>
  ['query,label,' + Array.from({ length: qs[0]!.features[0]!.length }, (_, i) => `f${i}`).join(',')]
    .concat(qs.flatMap((q, qi) => q.features.map((f, i) => [qi, q.labels[i], ...Array.from(f, (v) => (Number.isNaN(v) ? 'nan' : String(v)))].join(','))))
    .join('\n');
writeFileSync(join(dir, 'train.csv'), csv(train));
writeFileSync(join(dir, 'test.csv'), csv(test));

const started = process.hrtime.bigint();
const model = trainLambdaMart(
  { x: train.flatMap((q) => q.features), labels: train.flatMap((q) => q.labels), queries: train.flatMap((q) => q.features.map(() => q.id)) },
  { trees: TREES, leaves: LEAVES, learningRate: LR, bins: BINS, minDataInLeaf: MIN_LEAF },
);
const oursSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const ours = evaluate(test.map((q) => ({ scores: q.features.map((f) => predict(model, f)), labels: q.labels })));

const weights = { cost: DEFAULTS.advisor.weightCost, gpu: DEFAULTS.advisor.weightGpu, memory: DEFAULTS.advisor.weightMemory, reliability: DEFAULTS.advisor.weightReliability };
const heuristic = evaluate(
  test.map((q) => {
    const ranked = rankHeuristic({ workload: q.workload, budgetUsd: null, regionAllowList: [], topK: 100 }, q.offers, new Map(), weights);
    const score = new Map(ranked.map((r, i) => [offerKey(r.offer), ranked.length - i]));
    return { scores: q.offers.map((o) => score.get(offerKey(o)) ?? 0), labels: q.labels };
  }),
);

let lgbRow = '| LightGBM lambdarank | not run | | | |';
let lgbQuality: RankingQuality | null = null;
try {
  const out = JSON.parse(execFileSync(PYTHON, [join(REPO_ROOT, 'bench', 'lightgbm_baseline.py'), dir, String(TREES), String(LEAVES), String(LR), String(BINS), String(MIN_LEAF)], { encoding: 'utf8' })) as {
    train_seconds: number;
    predictions: number[];
    version: string;
  };
  let k = 0;
  lgbQuality = evaluate(test.map((q) => ({ scores: q.features.map(() => out.predictions[k++] as number), labels: q.labels })));
  lgbRow = `| LightGBM ${out.version} lambdarank (1 thread) | ${lgbQuality.ndcgAt5.toFixed(4)} | ${lgbQuality.ndcgAt10.toFixed(4)} | ${lgbQuality.mrr.toFixed(4)} | ${out.train_seconds.toFixed(3)} |`;
} catch (err) {
  lgbRow = `| LightGBM lambdarank | not run: ${(err as Error).message.split('\n')[0]} | | | |`;
}
const rows = train.reduce((n, q) => n + q.features.length, 0);
console.log(
  [
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; date ${new Date().toISOString()}.`,
    `Data: ${train.length} training queries (${rows} rows), ${test.length} held-out queries; ${TREES} trees, ${LEAVES} leaves, learning rate ${LR}, ${BINS} bins, min ${MIN_LEAF} rows per leaf.`,
    '',
    '| ranker | NDCG@5 | NDCG@10 | MRR | training (s) |',
    '|---|---:|---:|---:|---:|',
    `| this LambdaMART (TypeScript, 1 thread) | ${ours.ndcgAt5.toFixed(4)} | ${ours.ndcgAt10.toFixed(4)} | ${ours.mrr.toFixed(4)} | ${oursSeconds.toFixed(3)} |`,
    lgbRow,
    `| heuristic ranker (no training) | ${heuristic.ndcgAt5.toFixed(4)} | ${heuristic.ndcgAt10.toFixed(4)} | ${heuristic.mrr.toFixed(4)} | |`,
  ].join('\n'),
);

/**
 * Training advisor hot paths: feature extraction per (workload, instance) pair and the
 * heuristic ranking of 100 candidates, beside a price-only sort of the same 100 (what
 * SkyPilot's optimizer does) as the baseline, in the same run; the HYBRID ranking with a
 * learned model, and the time of one training run. Prints Markdown tables.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { DEFAULTS } from '../config/options.ts';
import { extractFeatures, FEATURE_COUNT } from '../processors/advisor/features.ts';
import { rankHeuristic } from '../processors/advisor/heuristicRanker.ts';
import { fromOnnx } from '../processors/advisor/ltr/onnxImport.ts';
import { trainAndEvaluate } from '../processors/advisor/ltr/training.ts';
import { suggest } from '../processors/advisor/processor.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import { ltrQueries } from '../simulate/rankingData.ts';
import { trainerOptions } from '../app/topology.ts';
import type { InstanceOffer } from '../schemas/generated/records.ts';
import { CATALOG } from '../simulate/catalog.ts';
import { EventGenerator, toInstanceOffer } from '../simulate/generator.ts';
import { Random } from '../simulate/random.ts';

const loadAtStart = loadavg();
const rng = new Random(5);
const base = CATALOG.map((o) => toInstanceOffer(o, 0));
const candidates: InstanceOffer[] = Array.from({ length: 100 }, (_, i) => {
  const o = base[i % base.length] as InstanceOffer;
  return { ...o, instance_type: `${o.instance_type}-${i}`, on_demand_price_usd: o.on_demand_price_usd * rng.between(0.8, 1.2) };
});
const workloads = Array.from({ length: 64 }, (_, i) => ({ ...new EventGenerator({ seed: i, runId: 'b' }).job(0).dispatch.workload, gpu_memory_required_gb: 8 }));
const weights = { cost: DEFAULTS.advisor.weightCost, gpu: DEFAULTS.advisor.weightGpu, memory: DEFAULTS.advisor.weightMemory, reliability: DEFAULTS.advisor.weightReliability };

function timeIt(runs: number, fn: (i: number) => void): number[] {
  for (let i = 0; i < Math.min(runs, 2000); i++) fn(i); // warm-up
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;

const buf = new Float64Array(FEATURE_COUNT);
// Per pair: time 100 extractions at once and divide, so timer resolution does not dominate.
const perPair = timeIt(20_000, (i) => {
  const w = workloads[i % workloads.length] as (typeof workloads)[number];
  for (const c of candidates) extractFeatures(w, c, null, buf);
}).map((ms) => ms / candidates.length);
const rank = timeIt(20_000, (i) => rankHeuristic({ workload: workloads[i % workloads.length] as (typeof workloads)[number], budgetUsd: null, regionAllowList: [], topK: 5 }, candidates, new Map(), weights));
const priceSort = timeIt(20_000, () => [...candidates].sort((a, b) => a.on_demand_price_usd - b.on_demand_price_usd).slice(0, 5));

// The learned ranker as the stream serves it: a promoted model (100 trees, 15 leaves) read
// back from its ONNX bytes, HYBRID over the same 100 candidates.
const advisorOptions = { ...DEFAULTS.advisor, mode: 'hybrid' as const };
const training = trainAndEvaluate(docsOf(ltrQueries(200, 3, 0)), new Map(base.map((o) => [offerKey(o), o])), new Map(), null, { version: 'bench', trainedAt: 0, labelsSeen: 0 }, trainerOptions(DEFAULTS.advisor));
const served = { version: 'bench', model: fromOnnx(training.onnx).model };
const hybrid = timeIt(20_000, (i) => suggest({ workload: workloads[i % workloads.length] as (typeof workloads)[number], budgetUsd: null, regionAllowList: [], topK: 5 }, candidates, new Map(), advisorOptions, served));

// One training run (train + held-out evaluation + ONNX export) as the trainer task does it,
// at several training-set sizes: the time the trainer's partition is busy.
const trainingRuns = [50, 200, 1000].map((queries) => {
  const docs = docsOf(ltrQueries(queries, 4, 0));
  const started = performance.now();
  trainAndEvaluate(docs, new Map(base.map((o) => [offerKey(o), o])), new Map(), null, { version: 'bench', trainedAt: 0, labelsSeen: docs.length }, trainerOptions(DEFAULTS.advisor));
  return { docs: docs.length, queries, ms: performance.now() - started };
});

function docsOf(queries: ReturnType<typeof ltrQueries>) {
  return queries.flatMap((qq) => qq.offers.map((o, i) => ({ queryId: qq.id, offerKey: offerKey(o), workload: qq.workload, labelSum: qq.labels[i] as number, runs: 1 })));
}

const us = (ms: number) => (ms * 1000).toFixed(2);
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
console.log(
  [
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; date ${new Date().toISOString()}; 20,000 timed runs after warm-up; load average (1/5/15 min) ${load(loadAtStart)} at start, ${load(loadavg())} at end.`,
    '',
    '| path | p50 (µs) | p99 (µs) | seed target | p99 vs target |',
    '|---|---:|---:|---:|---:|',
    `| feature extraction, per pair (${FEATURE_COUNT} features) | ${us(q(perPair, 0.5))} | ${us(q(perPair, 0.99))} | 1000 | ${(q(perPair, 0.99) / 1).toFixed(4)} |`,
    `| heuristic ranking, 100 candidates (features, filter, 4 scores, sort) | ${us(q(rank, 0.5))} | ${us(q(rank, 0.99))} | 10000 | ${(q(rank, 0.99) / 10).toFixed(4)} |`,
    `| HYBRID ranking, 100 candidates (heuristic + 100-tree model from ONNX) | ${us(q(hybrid, 0.5))} | ${us(q(hybrid, 0.99))} | 10000 | ${(q(hybrid, 0.99) / 10).toFixed(4)} |`,
    `| baseline: price-only sort of the same 100 | ${us(q(priceSort, 0.5))} | ${us(q(priceSort, 0.99))} | | |`,
    '',
    `Ranking costs ${(q(rank, 0.5) / q(priceSort, 0.5)).toFixed(1)}x a price-only sort at p50; HYBRID costs ${(q(hybrid, 0.5) / q(rank, 0.5)).toFixed(1)}x the heuristic alone.`,
    '',
    '| training run (train, held-out evaluation, ONNX export; 100 trees, 15 leaves) | documents | queries | ms |',
    '|---|---:|---:|---:|',
    ...trainingRuns.map((r) => `| one run | ${r.docs} | ${r.queries} | ${r.ms.toFixed(0)} |`),
  ].join('\n'),
);

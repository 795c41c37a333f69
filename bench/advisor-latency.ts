/**
 * Training advisor hot paths: feature extraction per (workload, instance) pair and the
 * heuristic ranking of 100 candidates, beside a price-only sort of the same 100 (what
 * SkyPilot's optimizer does) as the baseline, in the same run. Prints a Markdown table.
 */
import { cpus, totalmem } from 'node:os';
import { DEFAULTS } from '../config/options.ts';
import { extractFeatures, FEATURE_COUNT } from '../processors/advisor/features.ts';
import { rankHeuristic } from '../processors/advisor/heuristicRanker.ts';
import type { InstanceOffer } from '../schemas/generated/records.ts';
import { CATALOG } from '../simulate/catalog.ts';
import { EventGenerator, toInstanceOffer } from '../simulate/generator.ts';
import { Random } from '../simulate/random.ts';

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

const us = (ms: number) => (ms * 1000).toFixed(2);
console.log(
  [
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; date ${new Date().toISOString()}; 20,000 timed runs after warm-up.`,
    '',
    '| path | p50 (µs) | p99 (µs) | seed target | p99 vs target |',
    '|---|---:|---:|---:|---:|',
    `| feature extraction, per pair (${FEATURE_COUNT} features) | ${us(q(perPair, 0.5))} | ${us(q(perPair, 0.99))} | 1000 | ${(q(perPair, 0.99) / 1).toFixed(4)} |`,
    `| heuristic ranking, 100 candidates (features, filter, 4 scores, sort) | ${us(q(rank, 0.5))} | ${us(q(rank, 0.99))} | 10000 | ${(q(rank, 0.99) / 10).toFixed(4)} |`,
    `| baseline: price-only sort of the same 100 | ${us(q(priceSort, 0.5))} | ${us(q(priceSort, 0.99))} | | |`,
    '',
    `Ranking costs ${(q(rank, 0.5) / q(priceSort, 0.5)).toFixed(1)}x a price-only sort at p50.`,
  ].join('\n'),
);

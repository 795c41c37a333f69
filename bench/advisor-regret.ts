/**
 * Decision quality, the figure a user reads first: on a held-out simulated platform, what
 * the advisor's picks cost against the cheapest offer that could have run each job
 * (hindsight), and whether they run at all.
 *
 * - Training: the simulated platform (simulate/generator.ts: its workloads, its naive
 *   dispatcher, the truthful runs) goes through the service's own processors (replay):
 *   labels, learned scaling, the learned ranker trained, judged and promoted or not in the
 *   stream, as in production.
 * - Held out: workloads the training platform never ran, in five mixes that differ in kind
 *   (small single-GPU jobs, large-memory single-GPU jobs, distributed jobs of 2-8 GPUs,
 *   multi-node jobs of 12-16 GPUs, and all of them on another catalog with other prices and
 *   shapes, one of a GPU type the advisor knows no speed for). Each job has hidden traits
 *   (its own scaling, how much of a fast GPU it can use) only the truth knows.
 * - Deciders, each choosing one offer per job: the served pick (the advisor as configured,
 *   HYBRID with the promoted model, or the heuristic when no model serves), HYBRID with the
 *   last promoted model whether or not it still serves (what the guard saves), the heuristic,
 *   a price-only sort (the cheapest machine with enough GPUs and memory per GPU: what a
 *   catalog-only optimizer does), and the platform's own dispatcher.
 * - Truth (simulate/truth.ts): a pick that does not fit fails (OOM, too few GPUs); one that
 *   fits costs true hours x on-demand price x machines. All prices on demand: the advisor
 *   ranks on-demand offers, spot is a separate advice.
 * - Figures per mix, mean over seeds: success rate; regret of successful picks (cost /
 *   hindsight cheapest - 1: mean and p90); total cost against hindsight where a failed pick
 *   costs its wasted start (15 min) and a rerun on the hindsight-cheapest offer; picks with
 *   idle GPUs, and those where an offer without idle GPUs fitted.
 *
 * Run: npx tsx bench/advisor-regret.ts [jobsPerMix=200] [trainingJobs=3000] [seeds=3]
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { loadConfig } from '../config/options.ts';
import { replayEvents, type ReplayEvent } from '../app/replay.ts';
import { suggest } from '../processors/advisor/processor.ts';
import { latestPromoted, servingState } from '../processors/advisor/servingModel.ts';
import { fromOnnx } from '../processors/advisor/ltr/onnxImport.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import type { AdvisorModel, InstanceOffer, InstanceSuggestion, SpotRisk, WorkloadScaling } from '../schemas/generated/records.ts';
import { CATALOG, type CatalogOffer } from '../simulate/catalog.ts';
import { EventGenerator, platformChoice, profileOf, toInstanceOffer, type SimWorkload } from '../simulate/generator.ts';
import { heldOutWorkload, MIXES, otherCatalog } from '../simulate/heldOutPlatform.ts';
import { Random } from '../simulate/random.ts';
import { trueRun, type TrueRun } from '../simulate/truth.ts';

const JOBS_PER_MIX = Number(process.argv[2] ?? 200);
const TRAINING_JOBS = Number(process.argv[3] ?? 3000);
const SEEDS = Number(process.argv[4] ?? 3);
const FAILED_START_HOURS = 0.25;
const DECIDERS = ['served, COST goal', 'served, BALANCED goal', 'served, COST goal, up to 2x GPUs', 'last promoted model, COST goal', 'heuristic, COST goal', 'heuristic, BALANCED goal', 'price-only', 'platform'] as const;
type Decider = (typeof DECIDERS)[number];

const loadAtStart = loadavg();
const startedAt = new Date();
const config = loadConfig({ env: {} });

/** What the advisor learned on the training platform: the model table, scaling and spot risk, as the stream left them. */
interface Savings {
  succeeded: number;
  covered: number;
  spent: number;
  optimizer: number;
  hybridPicks: number;
}

function train(seed: number): { models: Map<string, AdvisorModel>; scaling: Map<string, WorkloadScaling>; risks: Map<string, SpotRisk>; labels: number; savings: Savings } {
  const g = new EventGenerator({ seed, runId: `train-${seed}` });
  const t0 = Date.UTC(2026, 0, 1);
  const events: ReplayEvent[] = CATALOG.map((o) => ({ topic: 'instance-catalog', key: offerKey({ provider: o.provider, region: o.region, instance_type: o.instanceType }), value: toInstanceOffer(o, t0) }));
  const jobs = Array.from({ length: TRAINING_JOBS }, (_, i) => g.job(t0 + 60_000 + i * 300_000));
  // In event time: an outcome arrives when its job ends.
  const timed = jobs.flatMap((j) => [
    { at: j.dispatch.event_time, e: { topic: 'job-dispatch', key: j.dispatch.job_id, value: j.dispatch } },
    { at: j.outcome.event_time, e: { topic: 'job-outcome', key: j.outcome.job_id, value: j.outcome } },
  ]);
  timed.sort((a, b) => a.at - b.at);
  const out = replayEvents([...events, ...timed.map((t) => t.e)], config);
  const last = <T>(topic: string) => {
    const m = new Map<string, T>();
    for (const o of out) if (o.topic === topic && 'value' in o) m.set(o.key, o.value as T);
    return m;
  };
  // The savings figure of this replay, as savings_report computes it: succeeded jobs against their dispatch suggestion's top pick.
  const picks = last<InstanceSuggestion>('instance-suggestions');
  const savings: Savings = { succeeded: 0, covered: 0, spent: 0, optimizer: 0, hybridPicks: 0 };
  for (const j of jobs) {
    if (j.outcome.status !== 'SUCCEEDED') continue;
    savings.succeeded++;
    const s = picks.get(j.dispatch.job_id);
    const top = s?.ranked[0];
    if (!s || !top || top.factors.hours === undefined) continue;
    savings.covered++;
    savings.spent += j.outcome.cost_usd;
    savings.optimizer += top.estimated_cost_usd;
    if (s.mode !== 'HEURISTIC') savings.hybridPicks++;
  }
  return { models: last<AdvisorModel>('advisor-models'), scaling: last<WorkloadScaling>('workload-scaling'), risks: last<SpotRisk>('spot-risk'), labels: out.filter((o) => o.topic === 'relevance-labels').length, savings };
}

interface Outcome {
  run: TrueRun;
  best: number;
  /** Whether some fitting offer leaves no GPU idle. */
  idleFreeFit: boolean;
}

interface Tally {
  jobs: number;
  succeeded: number;
  regrets: number[];
  totalCost: number;
  totalBest: number;
  idlePicks: number;
  avoidableIdlePicks: number;
  none: number;
}

const emptyTally = (): Tally => ({ jobs: 0, succeeded: 0, regrets: [], totalCost: 0, totalBest: 0, idlePicks: 0, avoidableIdlePicks: 0, none: 0 });

function record(t: Tally, o: Outcome, offer: CatalogOffer | null): void {
  t.jobs++;
  t.totalBest += o.best;
  if (!offer) {
    // Nothing picked: the job is not run; count it as a failure redone at the best offer.
    t.none++;
    t.totalCost += o.best;
    return;
  }
  if (o.run.fits) {
    t.succeeded++;
    t.regrets.push(o.run.costUsd / o.best - 1);
    t.totalCost += o.run.costUsd;
    if (o.run.idleGpus > 0) {
      t.idlePicks++;
      if (o.idleFreeFit) t.avoidableIdlePicks++;
    }
  } else {
    t.totalCost += FAILED_START_HOURS * offer.onDemand * o.run.nodes + o.best;
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const results = new Map<string, Tally[]>(); // `${mix}|${decider}` -> one tally per seed
const served = new Map<number, string>();
for (let seed = 1; seed <= SEEDS; seed++) {
  const t = performance.now();
  const learned = train(seed);
  const state = servingState(learned.models);
  const model = state.model?.serving ?? null;
  // The model the guard took out of service (or the one serving): what HYBRID would pick without the guard.
  const promotedRecord = latestPromoted(learned.models);
  const lastPromoted = promotedRecord?.onnx ? { version: promotedRecord.model_version, model: fromOnnx(promotedRecord.onnx).model } : null;
  const sv = learned.savings;
  served.set(
    seed,
    `${model ? `HYBRID with ${model.version}` : `HEURISTIC (${state.heuristicReason ?? 'no model'})`}; last promoted model ${lastPromoted?.version ?? 'none'}; ${learned.labels} labels, ${learned.models.size} training runs, ${learned.scaling.size} workload classes with learned scaling; trained in ${((performance.now() - t) / 1000).toFixed(1)} s. ` +
      `Savings on the training replay: on ${sv.covered} of ${sv.succeeded} succeeded jobs, $${sv.spent.toFixed(0)} spent against $${sv.optimizer.toFixed(0)} at the dispatch suggestions' picks (${(sv.optimizer / sv.spent).toFixed(3)}x; ${sv.hybridPicks} of those picks made in HYBRID)`,
  );
  for (const mix of MIXES) {
    const rng = new Random(1000 * seed + MIXES.indexOf(mix));
    const catalog: CatalogOffer[] = mix === 'mixed, other catalog' ? otherCatalog(seed) : CATALOG;
    const offers = catalog.map((o) => toInstanceOffer(o, 0));
    const byKey = new Map(catalog.map((o, i) => [offerKey(offers[i] as InstanceOffer), o]));
    const tallies = new Map<Decider, Tally>(DECIDERS.map((d) => [d, emptyTally()]));
    let kept = 0;
    while (kept < JOBS_PER_MIX) {
      const w: SimWorkload = heldOutWorkload(mix, rng);
      const runs = catalog.map((o) => trueRun(w, w, o, w.baseHours));
      const fitting = runs.filter((r) => r.fits);
      if (fitting.length === 0) continue; // nothing can run it: no decision to judge
      kept++;
      const best = Math.min(...fitting.map((r) => r.costUsd));
      const idleFreeFit = fitting.some((r) => r.idleGpus === 0);
      const profile = profileOf(w);
      const outcome = (o: CatalogOffer | null): Outcome => ({ run: o ? trueRun(w, w, o, w.baseHours) : (fitting[0] as TrueRun), best, idleFreeFit });
      const top = (mode: 'hybrid' | 'heuristic', goal: 'COST' | 'BALANCED', maxGpuOverprovision = config.advisor.maxGpuOverprovision, serving = model) => {
        const s = suggest({ workload: profile, budgetUsd: null, regionAllowList: [], topK: 1, goal }, offers, learned.risks, { ...config.advisor, mode, maxGpuOverprovision }, mode === 'heuristic' ? null : serving, learned.scaling);
        const r = s.ranked[0];
        return r ? (byKey.get(offerKey(r.instance)) ?? null) : null;
      };
      const n = Math.max(1, w.num_gpus);
      const priceOnly = [...catalog]
        .filter((o) => {
          const nodes = o.gpuCount >= n ? 1 : w.distributed ? Math.ceil(n / o.gpuCount) : Infinity;
          return nodes <= (w.distributed ? w.max_nodes : 1) && o.gpuMemoryGb >= (w.gpu_memory_sharded ? w.gpu_memory_required_gb / n : w.gpu_memory_required_gb);
        })
        .sort((a, b) => a.onDemand * Math.max(1, Math.ceil(n / a.gpuCount)) - b.onDemand * Math.max(1, Math.ceil(n / b.gpuCount)))[0];
      const picks: Record<Decider, CatalogOffer | null> = {
        'served, COST goal': top(config.advisor.mode === 'heuristic' ? 'heuristic' : 'hybrid', 'COST'),
        'served, BALANCED goal': top(config.advisor.mode === 'heuristic' ? 'heuristic' : 'hybrid', 'BALANCED'),
        'served, COST goal, up to 2x GPUs': top(config.advisor.mode === 'heuristic' ? 'heuristic' : 'hybrid', 'COST', 2),
        'last promoted model, COST goal': top('hybrid', 'COST', config.advisor.maxGpuOverprovision, lastPromoted),
        'heuristic, COST goal': top('heuristic', 'COST'),
        'heuristic, BALANCED goal': top('heuristic', 'BALANCED'),
        'price-only': priceOnly ?? null,
        platform: platformChoice(rng, profile, w.baseHours, catalog).offer,
      };
      for (const d of DECIDERS) record(tallies.get(d) as Tally, outcome(picks[d]), picks[d]);
    }
    for (const d of DECIDERS) {
      const key = `${mix}|${d}`;
      results.set(key, [...(results.get(key) ?? []), tallies.get(d) as Tally]);
    }
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
const lines: string[] = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${startedAt.toISOString()}; load average (1/5/15 min) ${load(loadAtStart)} at start, ${load(loadavg())} at end.`,
  `${SEEDS} seeds; per seed ${TRAINING_JOBS} training jobs, then ${JOBS_PER_MIX} held-out jobs per mix. Figures are means over the seeds (min-max in brackets where they differ).`,
  '',
  ...[...served.entries()].map(([seed, s]) => `- seed ${seed}: served ${s}`),
  '',
  '| mix | decider | success | regret, mean | regret, p90 | total cost / hindsight | picks with idle GPUs (avoidable) |',
  '|---|---|---:|---:|---:|---:|---:|',
];
const span = (xs: number[], f: (x: number) => string) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return `${f(mean(xs))}${xs.length > 1 && f(lo) !== f(hi) ? ` [${f(lo)}, ${f(hi)}]` : ''}`;
};
for (const mix of MIXES) {
  for (const d of DECIDERS) {
    const ts = results.get(`${mix}|${d}`) as Tally[];
    lines.push(
      `| ${mix} | ${d} | ${span(ts.map((t) => t.succeeded / t.jobs), pct)} | ${span(ts.map((t) => mean(t.regrets)), pct)} | ${span(ts.map((t) => quantile(t.regrets, 0.9)), pct)} | ${span(ts.map((t) => t.totalCost / t.totalBest), (x) => x.toFixed(3))} | ${ts.reduce((s, t) => s + t.idlePicks, 0)} (${ts.reduce((s, t) => s + t.avoidableIdlePicks, 0)})${ts.some((t) => t.none > 0) ? `; ${ts.reduce((s, t) => s + t.none, 0)} without a pick` : ''} |`,
    );
  }
}
// The bar: served picks cheaper than the platform's own at equal or better success, and no pick with GPUs the job cannot use.
lines.push('');
for (const [mix, decider] of MIXES.flatMap((m) => (['served, COST goal', 'served, BALANCED goal', 'served, COST goal, up to 2x GPUs'] as const).map((d) => [m, d] as const))) {
  const s = results.get(`${mix}|${decider}`) as Tally[];
  const p = results.get(`${mix}|platform`) as Tally[];
  const cost = mean(s.map((t) => t.totalCost)) / mean(p.map((t) => t.totalCost));
  const success = mean(s.map((t) => t.succeeded / t.jobs)) - mean(p.map((t) => t.succeeded / t.jobs));
  const idle = s.reduce((a, t) => a + t.avoidableIdlePicks, 0);
  lines.push(`- ${mix}, ${decider}: total cost ${cost.toFixed(3)}x the platform's, success ${success >= 0 ? '+' : ''}${(100 * success).toFixed(1)} points, ${idle} avoidable idle-GPU picks: ${cost < 1 && success >= 0 && idle === 0 ? 'meets the bar' : 'misses the bar'}`);
}
console.log(lines.join('\n'));

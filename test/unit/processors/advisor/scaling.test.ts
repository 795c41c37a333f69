/**
 * Scaling efficiency learned from outcomes: the estimator on runs of known scaling (with and
 * without biased expectations), and the scaling processor in the stream (replay): its
 * records, and the advisor using them in place of the prior.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../config/options.ts';
import { replayEvents, type ReplayEvent } from '../../../../app/replay.ts';
import { amdahlEfficiency, place } from '../../../../processors/advisor/placement.ts';
import { addObservation, EMPTY_STATS, estimateScaling, observation, type ScalingStats } from '../../../../processors/advisor/scaling.ts';
import { offerKey } from '../../../../processors/cost/labelsByOffer.ts';
import type { InstanceOffer, InstanceSuggestion, JobDispatch, JobOutcome, WorkloadProfile, WorkloadScaling } from '../../../../schemas/generated/records.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { toInstanceOffer } from '../../../../simulate/generator.ts';
import { Random } from '../../../../simulate/random.ts';

const T0 = Date.UTC(2026, 5, 1);
const config = loadConfig({ env: {} });
const priors = config.advisor.scaling;
const catalog = CATALOG.map((o) => toInstanceOffer(o, T0));
const byType = (t: string) => catalog.find((o) => o.instance_type === t) as InstanceOffer;
const workload: WorkloadProfile = { framework: 'JAX', model_family: 'diffusion', param_count: 8e8, dataset_size_gb: 500, gpu_memory_required_gb: 20, num_gpus: 8, expected_duration_h: 30, distributed: true, gpu_memory_sharded: false, max_nodes: 1 };

/** A succeeded run of `w` on `o` that took what Amdahl with `p` says, x the expectation bias `b`, x noise. */
function run(w: WorkloadProfile, o: InstanceOffer, p: number, b: number, noise = 1) {
  const s = place(w, o, p, priors.interNodeEfficiency).perGpuSpeed;
  const g = Math.max(1, w.num_gpus);
  const hours = ((w.expected_duration_h as number) * b) / (s * g * amdahlEfficiency(p, g)) * noise;
  return { status: 'SUCCEEDED' as const, preemption_count: 0, duration_s: hours * 3600, workload: w };
}

function learn(runs: Array<{ w: WorkloadProfile; o: InstanceOffer }>, p: number, b: number, rng: Random | null): ScalingStats {
  let stats = EMPTY_STATS;
  for (const { w, o } of runs) {
    const seen = observation(run(w, o, p, b, rng ? Math.exp(rng.normal() * 0.1) : 1), o, priors);
    if (seen) stats = addObservation(stats, seen);
  }
  return stats;
}

describe('scaling estimator', () => {
  const p4d = byType('p4d.24xlarge');
  const a2x2 = byType('a2-highgpu-2g');
  const a100 = byType('a2-highgpu-1g');

  it('tells scaling apart from biased expectations when runs use several GPU counts', () => {
    const runs = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? { w: { ...workload, num_gpus: 1, distributed: false }, o: a100 } : i % 3 === 1 ? { w: { ...workload, num_gpus: 2 }, o: a2x2 } : { w: workload, o: p4d }));
    const exact = estimateScaling(learn(runs, 0.88, 1.3, null), 0.97, 0);
    expect(exact.observed).toBeCloseTo(0.88, 9);
    expect(exact.expectationRatio).toBeCloseTo(1.3, 9);
    const noisy = estimateScaling(learn(runs, 0.88, 1.3, new Random(4)), 0.97, priors.priorWeightRuns);
    expect(Math.abs((noisy.observed as number) - 0.88)).toBeLessThan(0.02);
    // 40 multi-GPU runs against a prior worth 5: mostly the observation.
    expect(noisy.parallelFraction).toBeCloseTo((40 * (noisy.observed as number) + 5 * 0.97) / 45, 12);
  });

  it('makes the hours right at the one GPU count it has seen, and keeps the prior without multi-GPU runs', () => {
    const only8 = learn(Array.from({ length: 30 }, () => ({ w: workload, o: p4d })), 0.9, 1.1, null);
    const e = estimateScaling(only8, 0.97, 0);
    // With b folded into p, the model's hours at 8 GPUs equal the observed ones.
    const observedHours = (30 * 1.1) / (8 * amdahlEfficiency(0.9, 8));
    expect(30 / place(workload, p4d, e.parallelFraction, priors.interNodeEfficiency).speed).toBeCloseTo(observedHours, 9);
    const singles = estimateScaling(learn(Array.from({ length: 10 }, () => ({ w: { ...workload, num_gpus: 1, distributed: false }, o: a100 })), 0.9, 1.2, null), 0.97, 5);
    expect(singles).toMatchObject({ parallelFraction: 0.97, observed: null });
    expect(singles.expectationRatio).toBeCloseTo(1.2, 9);
  });

  it('learns nothing from runs that say nothing about speed', () => {
    const ok = run(workload, p4d, 0.9, 1);
    expect(observation({ ...ok, status: 'FAILED' }, p4d, priors)).toBeNull();
    expect(observation({ ...ok, preemption_count: 1 }, p4d, priors)).toBeNull();
    expect(observation({ ...ok, workload: { ...workload, expected_duration_h: null } }, p4d, priors)).toBeNull();
    expect(observation(ok, { ...p4d, gpu_type: 'MYSTERY' }, priors)).toBeNull();
    expect(observation(ok, byType('g5.xlarge'), priors)).toBeNull(); // it could not have run there
  });
});

describe('scaling in the stream', () => {
  it('publishes what a class learned, and the advisor estimates with it instead of the prior', () => {
    const rng = new Random(9);
    const p4d = byType('p4d.24xlarge');
    const a100 = byType('a2-highgpu-1g');
    const events: ReplayEvent[] = catalog.map((o) => ({ topic: 'instance-catalog', key: offerKey(o), value: o }));
    for (let i = 0; i < 40; i++) {
      const one = i % 4 === 0;
      const w = one ? { ...workload, num_gpus: 1, distributed: false } : workload;
      const o = one ? a100 : p4d;
      const r = run(w, o, 0.8, 1, Math.exp(rng.normal() * 0.05));
      const at = T0 + i * 3_600_000;
      const jobId = `s-${i}`;
      const d: JobDispatch = {
        event_id: `d-${jobId}`, event_time: at, job_id: jobId, team: 't', workload: w,
        instance: { provider: o.provider, region: o.region, instance_type: o.instance_type, spot: false, hourly_price_usd: o.on_demand_price_usd },
        candidates: [], estimated_cost_usd: 1, estimated_duration_s: 3600, baseline_metric: null, metric_goal: 'MAXIMIZE', checkpointing: true, hyperparameters: {}, hpo_study_id: null, hpo_trial_id: null,
      };
      const out: JobOutcome = { event_id: `o-${jobId}`, event_time: at + 1000, job_id: jobId, status: 'SUCCEEDED', duration_s: r.duration_s, cost_usd: 1, metric: null, preemption_count: 0, error: null };
      events.push({ topic: 'job-dispatch', key: jobId, value: d }, { topic: 'job-outcome', key: jobId, value: out });
    }
    events.push({
      topic: 'recommendation-requests',
      key: 'after',
      value: { event_id: 'after', event_time: T0 + 50 * 3_600_000, request_id: 'after', workload, goal: 'BALANCED', budget_usd: null, top_k: 3, region_allow_list: [] },
    });
    // Every change published: the last record holds every run.
    const everyChange = loadConfig({ env: {}, overrides: { advisor: { scaling: { emitMinDelta: 0 } } } });
    const out = replayEvents(events, everyChange);
    const records = out.filter((o) => o.topic === 'workload-scaling').map((o) => (o as { value: WorkloadScaling }).value);
    expect(records).toHaveLength(40);
    // By default only moves of emitMinDelta are published: fewer records, the same verdict within it.
    const sparse = replayEvents(events, config).filter((o) => o.topic === 'workload-scaling').map((o) => (o as { value: WorkloadScaling }).value);
    expect(sparse.length).toBeGreaterThan(1);
    expect(sparse.length).toBeLessThan(20);
    expect(Math.abs((sparse[sparse.length - 1] as WorkloadScaling).parallel_fraction - (records[39] as WorkloadScaling).parallel_fraction)).toBeLessThan(config.advisor.scaling.emitMinDelta);
    const last = records[records.length - 1] as WorkloadScaling;
    expect(last).toMatchObject({ class_key: 'JAX|diffusion', runs: 40, multi_gpu_runs: 30, gpu_counts: [1, 8], prior_parallel_fraction: 0.97 });
    expect(Math.abs((last.observed_parallel_fraction as number) - 0.8)).toBeLessThan(0.02);
    expect(last.parallel_fraction).toBeLessThan(0.85);
    const suggestion = out.find((o) => o.topic === 'instance-suggestions' && (o as { value: InstanceSuggestion }).value.request_id === 'after') as { value: InstanceSuggestion };
    for (const r of suggestion.value.ranked) expect(r.factors.scaling_efficiency).toBeCloseTo(amdahlEfficiency(last.parallel_fraction, 8), 12);
    // With the prior, 8 GPUs would have been taken as 0.81 efficient; the class showed about 0.37.
    expect(amdahlEfficiency(0.97, 8)).toBeGreaterThan(0.8);
    expect(amdahlEfficiency(last.parallel_fraction, 8)).toBeLessThan(0.45);
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { extractFeatures, feature, FEATURE_COUNT, FEATURE_NAMES } from '../../../../processors/advisor/features.ts';
import { rankHeuristic, type RankRequest } from '../../../../processors/advisor/heuristicRanker.ts';
import { ModelFrameworkValues, type InstanceOffer, type SpotRisk, type WorkloadProfile } from '../../../../schemas/generated/records.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { toInstanceOffer } from '../../../../simulate/generator.ts';

const workload: WorkloadProfile = { framework: 'PYTORCH', model_family: 'resnet', param_count: 25e6, dataset_size_gb: 100, gpu_memory_required_gb: 16, num_gpus: 1, expected_duration_h: 6, distributed: false, gpu_memory_sharded: false, max_nodes: 1 };
const offer = (o: Partial<InstanceOffer>): InstanceOffer => ({
  event_id: 'x', event_time: 0, provider: 'p', region: 'r', instance_type: 't', gpu_type: 'A100', gpu_count: 1, gpu_memory_gb: 40, vcpus: 8, memory_gb: 64, on_demand_price_usd: 3, spot_price_usd: 1, available: true, ...o,
});
const w = DEFAULTS.advisor;
const weights = { cost: w.weightCost, gpu: w.weightGpu, memory: w.weightMemory, reliability: w.weightReliability };
const request = (r: Partial<RankRequest> = {}): RankRequest => ({ workload, budgetUsd: null, regionAllowList: [], topK: 10, ...r });

describe('features', () => {
  it('has about 30 documented features, and distinguishes every framework', () => {
    expect(FEATURE_COUNT).toBe(31);
    const codes = ModelFrameworkValues.map((framework) => feature(extractFeatures({ ...workload, framework }, offer({}), null), 'framework_code'));
    expect(new Set(codes).size).toBe(ModelFrameworkValues.length);
    expect(extractFeatures(workload, offer({}), null).every((v, i) => Number.isFinite(v) || ['preemption_rate', 'preemption_rate_upper'].includes(FEATURE_NAMES[i] as string))).toBe(true);
  });

  it('makes missing values explicit (NaN) and prices preemption history in', () => {
    const f = extractFeatures({ ...workload, expected_duration_h: null }, offer({ spot_price_usd: null, gpu_type: 'MYSTERY' }), null);
    for (const name of ['spot_usd_per_hour', 'spot_discount', 'estimated_hours', 'per_gpu_speed', 'job_speed', 'preemption_rate'] as const) expect(feature(f, name), name).toBeNaN();
    const risk = { preemption_rate: 0.12, rate_upper: 0.2, runs: 30 } as SpotRisk;
    const g = extractFeatures(workload, offer({}), risk);
    expect([feature(g, 'preemption_rate'), feature(g, 'preemption_rate_upper'), feature(g, 'spot_runs_observed')]).toEqual([0.12, 0.2, 30]);
  });
});

describe('heuristic ranker', () => {
  it('weights cost, GPU, memory and reliability 40/30/20/10, normalised within the candidates', () => {
    const cheapSlow = offer({ instance_type: 'cheap', gpu_type: 'L4', gpu_memory_gb: 24, on_demand_price_usd: 0.7 });
    const fastDear = offer({ instance_type: 'fast', gpu_type: 'H100', gpu_memory_gb: 80, on_demand_price_usd: 12 });
    const middle = offer({ instance_type: 'mid', gpu_type: 'A100', gpu_memory_gb: 40, on_demand_price_usd: 3.7 });
    const ranked = rankHeuristic(request(), [cheapSlow, fastDear, middle], new Map(), weights);
    for (const r of ranked) {
      const f = r.factors;
      expect(r.score).toBeCloseTo(0.4 * f.cost! + 0.3 * f.gpu! + 0.2 * f.memory! + 0.1 * f.reliability!, 12);
      for (const v of Object.values(f)) expect(v).toBeGreaterThanOrEqual(0);
    }
    expect(ranked.find((r) => r.offer.instance_type === 'fast')?.factors.gpu).toBe(1);
    expect(Math.max(...ranked.map((r) => r.factors.cost!))).toBe(1);
    expect(rankHeuristic(request(), [cheapSlow, fastDear, middle], new Map(), { cost: 1, gpu: 0, memory: 0, reliability: 0 })[0]?.offer.instance_type).toBe(
      [...ranked].sort((a, b) => a.estimatedCostUsd - b.estimatedCostUsd)[0]?.offer.instance_type,
    );
  });

  it('filters infeasible offers: GPU memory, GPU count, availability, budget, regions', () => {
    const small = offer({ instance_type: 'small', gpu_memory_gb: 8 });
    const gone = offer({ instance_type: 'gone', available: false });
    const far = offer({ instance_type: 'far', region: 'elsewhere' });
    const dear = offer({ instance_type: 'dear', on_demand_price_usd: 100 });
    const ok = offer({ instance_type: 'ok' });
    const ranked = rankHeuristic(request({ budgetUsd: 50, regionAllowList: ['r'] }), [small, gone, far, dear, ok], new Map(), weights);
    expect(ranked.map((r) => r.offer.instance_type)).toEqual(['ok']);
    expect(rankHeuristic(request({ workload: { ...workload, num_gpus: 2 } }), [ok], new Map(), weights)).toEqual([]);
  });

  it('breaks ties deterministically, whatever the catalog order', () => {
    const twins = ['c', 'a', 'b'].map((t) => offer({ instance_type: t }));
    const one = rankHeuristic(request(), twins, new Map(), weights).map((r) => r.offer.instance_type);
    const two = rankHeuristic(request(), [...twins].reverse(), new Map(), weights).map((r) => r.offer.instance_type);
    expect(one).toEqual(['a', 'b', 'c']);
    expect(two).toEqual(one);
  });

  it('prices preemption risk into the ranking', () => {
    const a = offer({ instance_type: 'a' });
    const b = offer({ instance_type: 'b' });
    const risks = new Map([['p/r/a', { preemption_rate: 0.3 } as SpotRisk]]);
    expect(rankHeuristic(request(), [a, b], risks, weights).map((r) => r.offer.instance_type)).toEqual(['b', 'a']);
  });

  it('ranks the real catalog within the top k', () => {
    const catalog = CATALOG.map((o) => toInstanceOffer(o, 0));
    const ranked = rankHeuristic(request({ topK: 5 }), catalog, new Map(), weights);
    expect(ranked).toHaveLength(5);
    expect(ranked.map((r) => r.score)).toEqual([...ranked.map((r) => r.score)].sort((x, y) => y - x));
  });
});

import { describe, expect, it } from 'vitest';
import { compareProviders, paretoFront } from '../../../../processors/cost/providerComparison.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { EventGenerator, toInstanceOffer } from '../../../../simulate/generator.ts';
import { Random } from '../../../../simulate/random.ts';

describe('Pareto frontier', () => {
  it('keeps exactly the points nothing dominates (brute force on random sets)', () => {
    const rng = new Random(3);
    for (let t = 0; t < 50; t++) {
      const pts = Array.from({ length: 30 }, () => ({ cost: rng.int(1, 20), time: rng.int(1, 20) }));
      const front = paretoFront(pts);
      pts.forEach((p, i) => {
        const dominated = pts.some((q) => q.cost <= p.cost && q.time <= p.time && (q.cost < p.cost || q.time < p.time));
        expect(front.has(i)).toBe(!dominated);
      });
    }
  });
});

describe('provider comparison', () => {
  const catalog = CATALOG.map((o) => toInstanceOffer(o, Date.UTC(2026, 0, 1)));
  const workload = new EventGenerator({ seed: 1, runId: 'cmp' }).job(0).dispatch.workload;

  it('lists feasible offers only, cheapest first, with a non-empty frontier of non-dominated offers', () => {
    const { offers, providers } = compareProviders({ ...workload, gpu_memory_required_gb: 30, num_gpus: 1 }, catalog);
    expect(offers.every((o) => CATALOG.find((c) => c.instanceType === o.instanceType)!.gpuMemoryGb * CATALOG.find((c) => c.instanceType === o.instanceType)!.gpuCount >= 30)).toBe(true);
    expect(offers.map((o) => o.estimatedCostUsd)).toEqual([...offers.map((o) => o.estimatedCostUsd)].sort((a, b) => a - b));
    const front = offers.filter((o) => o.pareto);
    expect(front.length).toBeGreaterThan(0);
    expect(front[0]).toEqual(offers[0]);
    for (const f of front) expect(offers.some((o) => o.estimatedCostUsd < f.estimatedCostUsd && o.estimatedHours < f.estimatedHours)).toBe(false);
    expect(providers.map((p) => p.provider)).toEqual(['aws', 'azure', 'gcp', 'lambda']);
    expect(providers.find((p) => p.provider === 'aws')?.regions).toBe(3);
  });

  it('prefers observed durations to estimates', () => {
    const key = `${catalog[0]!.provider}/${catalog[0]!.region}/${catalog[0]!.instance_type}`;
    const { offers } = compareProviders({ ...workload, gpu_memory_required_gb: 1, num_gpus: 1 }, catalog, new Map([[key, [3, 5, 4]]]));
    expect(offers.find((o) => `${o.provider}/${o.region}/${o.instanceType}` === key)).toMatchObject({ estimatedHours: 4, durationSource: 'observed' });
  });
});

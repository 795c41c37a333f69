import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { rankHeuristic } from '../../../../processors/advisor/heuristicRanker.ts';
import { predict, trainLambdaMart } from '../../../../processors/advisor/ltr/lambdaMart.ts';
import { lambdaGradients } from '../../../../processors/advisor/ltr/lambdaObjective.ts';
import { evaluate, ndcgAt, reciprocalRank } from '../../../../processors/advisor/ltr/metrics.ts';
import { offerKey } from '../../../../processors/cost/labelsByOffer.ts';
import { ltrQueries } from '../../../../simulate/rankingData.ts';
import { marketplace } from '../../../../bench/ltr-data/marketplace.ts';
import { trainingSet } from '../../../../bench/ltr-data/dataset.ts';

const weights = { cost: DEFAULTS.advisor.weightCost, gpu: DEFAULTS.advisor.weightGpu, memory: DEFAULTS.advisor.weightMemory, reliability: DEFAULTS.advisor.weightReliability };

describe('ranking metrics', () => {
  it('NDCG and MRR on hand-checked cases', () => {
    expect(ndcgAt(5, [3, 2, 1], [2, 1, 0])).toBe(1);
    // Reversed: DCG = (0 + 1/log2(3) + 3/2) against ideal 3 + 1/log2(3).
    expect(ndcgAt(5, [1, 2, 3], [2, 1, 0])).toBeCloseTo((1 / Math.log2(3) + 3 / 2) / (3 + 1 / Math.log2(3)), 12);
    expect(ndcgAt(5, [1, 2], [0, 0])).toBe(1);
    expect(reciprocalRank([1, 3, 2], [4, 0, 0], 4)).toBeCloseTo(1 / 3, 12);
  });
});

describe('LambdaMART', () => {
  it('computes lambdas that push the more relevant item up, and sum to zero per query', () => {
    const { grad, hess } = lambdaGradients([2, 0, 1], [[0, 1, 2]], new Float64Array([0, 0, 0]), { sigma: 1, normalise: true, truncationLevel: 30 });
    expect(grad[0]).toBeLessThan(0); // negative gradient: the score should rise
    expect(grad[1]).toBeGreaterThan(0);
    expect((grad[0] as number) + (grad[1] as number) + (grad[2] as number)).toBeCloseTo(0, 12);
    expect([...hess].every((h) => h > 0)).toBe(true);
  });

  it('beats the heuristic on held-out queries of data with a learnable signal, deterministically', () => {
    const train = ltrQueries(150, 1);
    const test = ltrQueries(100, 2);
    const data = {
      x: train.flatMap((q) => q.features),
      labels: train.flatMap((q) => q.labels),
      queries: train.flatMap((q) => q.features.map(() => q.id)),
    };
    const model = trainLambdaMart(data, { trees: 60, leaves: 15, learningRate: 0.1 });
    expect(trainLambdaMart(data, { trees: 60, leaves: 15, learningRate: 0.1 })).toEqual(model);
    const learned = evaluate(test.map((q) => ({ scores: q.features.map((f) => predict(model, f)), labels: q.labels })));
    const heuristic = evaluate(
      test.map((q) => {
        const ranked = rankHeuristic({ workload: q.workload, budgetUsd: null, regionAllowList: [], topK: 100 }, q.offers, new Map(), weights);
        const score = new Map(ranked.map((r, i) => [offerKey(r.offer), ranked.length - i]));
        return { scores: q.offers.map((o) => score.get(offerKey(o)) ?? 0), labels: q.labels };
      }),
    );
    expect(learned.ndcgAt5).toBeGreaterThan(heuristic.ndcgAt5 + 0.05);
    expect(learned.ndcgAt10).toBeGreaterThan(heuristic.ndcgAt10);
    expect(learned.mrr).toBeGreaterThan(heuristic.mrr);
    console.log(`held-out NDCG@5 ${learned.ndcgAt5.toFixed(3)} vs heuristic ${heuristic.ndcgAt5.toFixed(3)}; NDCG@10 ${learned.ndcgAt10.toFixed(3)} vs ${heuristic.ndcgAt10.toFixed(3)}; MRR ${learned.mrr.toFixed(3)} vs ${heuristic.mrr.toFixed(3)}`);
  });
});

describe('LambdaMART reproducibility', () => {
  /** FNV-1a over every number of every tree, missing directions included. */
  function fingerprint(trees: ReadonlyArray<{ feature: number[]; threshold: number[]; left: number[]; right: number[]; value: number[]; missingLeft?: boolean[] }>): string {
    let h = 0x811c9dc5;
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    const mix = (v: number) => {
      view.setFloat64(0, v);
      for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
    };
    for (const t of trees) {
      for (const a of [t.feature, t.threshold, t.left, t.right, t.value]) a.forEach(mix);
      (t.missingLeft ?? []).forEach((m) => mix(m ? 1 : 0));
    }
    return (h >>> 0).toString(16);
  }

  it('trains the same model, bit for bit, in every process (a pinned fingerprint)', () => {
    // The marketplace generator's data, not the simulator's: the pin is about the learner, and
    // the simulator's catalog and features change with the product.
    const model = trainLambdaMart(trainingSet(marketplace.queries(40, 21)), { trees: 20, leaves: 15 });
    expect(fingerprint(model.trees)).toBe('4eb6217e');
  });
});

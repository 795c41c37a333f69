/**
 * The learned ranker's life on the stream, without Kafka: labels become documents, the
 * trainer trains at the thresholds, a model is promoted only when it is not worse on held-out
 * queries, and the advisor then serves it. Driven through `replayEvents`, the same
 * StreamTask and processors as the service.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../config/options.ts';
import { FEATURE_NAMES } from '../../../../processors/advisor/features.ts';
import { predict, trainLambdaMart } from '../../../../processors/advisor/ltr/lambdaMart.ts';
import { ndcgAt } from '../../../../processors/advisor/ltr/metrics.ts';
import { toOnnx } from '../../../../processors/advisor/ltr/onnxExport.ts';
import { fromOnnx } from '../../../../processors/advisor/ltr/onnxImport.ts';
import { OnnxScorer } from '../../../../processors/advisor/ltr/onnxScorer.ts';
import { scoreRow, trainAndEvaluate, type TrainingDoc } from '../../../../processors/advisor/ltr/training.ts';
import { offerKey } from '../../../../processors/cost/labelsByOffer.ts';
import { workloadHash } from '../../../../processors/feedback/workloadHash.ts';
import type { AdvisorModel, InstanceSuggestion } from '../../../../schemas/generated/records.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { toInstanceOffer } from '../../../../simulate/generator.ts';
import { ltrJobs, ltrQueries, ltrRequest, type LtrQuery } from '../../../../simulate/rankingData.ts';
import { replayEvents, type ReplayEvent } from '../../../../app/replay.ts';
import { trainerOptions } from '../../../../app/topology.ts';

const T0 = Date.UTC(2026, 2, 1);
const catalog = new Map(CATALOG.map((o) => toInstanceOffer(o, T0)).map((o) => [offerKey(o), o]));

function docsOf(queries: readonly LtrQuery[]): TrainingDoc[] {
  return queries.flatMap((q) => q.offers.map((o, i) => ({ queryId: q.id, offerKey: offerKey(o), workload: q.workload, labelSum: q.labels[i] as number, runs: 1 })));
}

function meanNdcg5(queries: readonly LtrQuery[], ranked: (q: LtrQuery) => string[]): number {
  let s = 0;
  for (const q of queries) {
    const order = ranked(q);
    const labelOf = new Map(q.offers.map((o, i) => [offerKey(o), q.labels[i] as number]));
    s += ndcgAt(5, order.map((_, i) => -i), order.map((k) => labelOf.get(k) ?? 0));
  }
  return s / queries.length;
}

describe('the learned ranker in the stream', () => {
  const options = trainerOptions(loadConfig({ env: {} }).advisor);

  it('reads its ONNX export back into trees that score like onnxruntime', async () => {
    const train = ltrQueries(50, 3, 0);
    const model = trainLambdaMart({ x: train.flatMap((q) => q.features), labels: train.flatMap((q) => q.labels), queries: train.flatMap((q) => q.features.map(() => q.id)) }, { trees: 30 });
    const bytes = toOnnx(model, { version: 'v', trainedAt: '2026-01-01T00:00:00.000Z', samples: 1, queries: 50, featureNames: FEATURE_NAMES });
    const back = fromOnnx(bytes);
    expect(back.metadata.version).toBe('v');
    expect(back.model.trees).toHaveLength(30);
    const rows = ltrQueries(20, 4, 0).flatMap((q) => q.features);
    rows.push(...rows.slice(0, 10).map((r) => r.map((v, i) => (i % 2 ? Number.NaN : v))));
    const scorer = await OnnxScorer.load(bytes, model.featureCount);
    const ort = await scorer.score(rows);
    await scorer.close();
    let vsOrt = 0;
    let vsTrees = 0;
    rows.forEach((r, i) => {
      vsOrt = Math.max(vsOrt, Math.abs(scoreRow(back.model, r) - (ort[i] as number)));
      vsTrees = Math.max(vsTrees, Math.abs(scoreRow(back.model, r) - predict(model, r)));
    });
    expect(vsOrt).toBeLessThan(1e-4);
    expect(vsTrees).toBeLessThan(1e-3);
  });

  it('promotes a model that beats the heuristic on held-out documents, and refuses a worse one', { timeout: 30_000 }, () => {
    const good = trainAndEvaluate(docsOf(ltrQueries(80, 5, 0)), catalog, new Map(), null, { version: 'ltr-1', trainedAt: T0, labelsSeen: 1000 }, options);
    expect(good.promoted).toBe(true);
    expect(good.baselineVersion).toBeNull();
    expect(good.quality!.queries).toBeGreaterThan(20);
    expect(good.quality!.ndcgAt5).toBeGreaterThan(good.heuristic!.ndcgAt5 + 0.2);
    // A stump on the same documents (same held-out split): it must lose to the model in service.
    const stump = { ...options, lambdaMart: { ...options.lambdaMart, trees: 1, leaves: 2 } };
    const bad = trainAndEvaluate(docsOf(ltrQueries(80, 5, 0)), catalog, new Map(), { version: 'ltr-1', model: good.model }, { version: 'ltr-2', trainedAt: T0, labelsSeen: 2000 }, stump);
    expect(bad.heuristic!.ndcgAt5).toBeCloseTo(good.heuristic!.ndcgAt5, 12);
    expect(bad.baselineVersion).toBe('ltr-1');
    expect(bad.promoted).toBe(false);
    expect(bad.reason).toMatch(/< .* of ltr-1/);
  });

  it('retrains no sooner than retrainMinIntervalMs of label event time after the previous run', () => {
    const config = loadConfig({ env: {} });
    config.advisor.retrainEveryLabels = 20;
    config.advisor.retrainMinIntervalMs = 6 * 3_600_000;
    // Jobs one minute apart: 20 labels come every ~20 minutes, but runs must be 6 h apart.
    const jobs = ltrJobs(ltrQueries(40, 8, 0), T0, 'interval');
    const events: ReplayEvent[] = [
      ...[...catalog.values()].map((o) => ({ topic: 'instance-catalog', key: offerKey(o), value: o })),
      ...jobs.flatMap((j) => [
        { topic: 'job-dispatch', key: j.dispatch.job_id, value: j.dispatch },
        { topic: 'job-outcome', key: j.outcome.job_id, value: j.outcome },
      ]),
    ];
    const models = replayEvents(events, config).filter((o) => o.topic === 'advisor-models').map((o) => (o as { value: AdvisorModel }).value);
    const times = models.map((m) => m.event_time);
    expect(models.length).toBeGreaterThan(2);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(6 * 3_600_000);
    const span = (jobs[jobs.length - 1] as (typeof jobs)[number]).outcome.event_time - T0;
    expect(models.length).toBeLessThanOrEqual(Math.floor(span / (6 * 3_600_000)) + 1);
  }, 60_000);

  it('trains at the label thresholds, promotes, and then serves a better ranking than the heuristic', () => {
    const config = loadConfig({ env: {} });
    config.advisor.retrainEveryLabels = 300;
    config.advisor.retrainMinIntervalMs = 0;
    const queries = ltrQueries(60, 6, 0);
    const fresh = ltrQueries(30, 99, 0);
    const events: ReplayEvent[] = [
      ...[...catalog.values()].map((o) => ({ topic: 'instance-catalog', key: offerKey(o), value: o })),
      ...ltrJobs(queries, T0, 'ltr').flatMap((j) => [
        { topic: 'job-dispatch', key: j.dispatch.job_id, value: j.dispatch },
        { topic: 'job-outcome', key: j.outcome.job_id, value: j.outcome },
      ]),
      ...fresh.map((q, i) => ({ topic: 'recommendation-requests', key: `r${i}`, value: ltrRequest(q, T0 + 86_400_000 + i, `r${i}`) })),
    ];
    const out = replayEvents(events, config);
    const labels = out.filter((o) => o.topic === 'relevance-labels').length;
    const models = out.filter((o) => o.topic === 'advisor-models').map((o) => (o as { value: AdvisorModel }).value);
    // At 50 labels, then every 300 more.
    expect(models.map((m) => m.labels_seen)).toEqual(Array.from({ length: Math.floor((labels - 50) / 300) + 1 }, (_, i) => 50 + 300 * i));
    expect(models.map((m) => m.model_version)).toEqual(models.map((_, i) => `ltr-${i + 1}`));
    const last = models.filter((m) => m.promoted).pop() as AdvisorModel;
    expect(last).toBeDefined();
    expect(last.ndcg_at_5).toBeGreaterThan(last.heuristic_ndcg_at_5 as number);
    expect(last.onnx?.length).toBeGreaterThan(1000);
    for (const m of models.filter((x) => !x.promoted)) expect(m.onnx).toBeNull();

    const suggestions = out.filter((o) => o.topic === 'instance-suggestions').map((o) => (o as { value: InstanceSuggestion }).value).filter((s) => s.source === 'REQUEST');
    expect(suggestions).toHaveLength(fresh.length);
    expect(new Set(suggestions.map((s) => `${s.mode} ${s.model_version}`))).toEqual(new Set([`HYBRID ${last.model_version}`]));
    const byQuery = new Map(suggestions.map((s) => [s.query_id, s]));
    const served = meanNdcg5(fresh, (q) => (byQuery.get(workloadHash(q.workload)) as InstanceSuggestion).ranked.map((r) => offerKey(r.instance)));
    const heuristicConfig = { ...config, advisor: { ...config.advisor, mode: 'heuristic' as const } };
    const heuristicOut = replayEvents(events, heuristicConfig).filter((o) => o.topic === 'instance-suggestions').map((o) => (o as { value: InstanceSuggestion }).value);
    const heuristicByQuery = new Map(heuristicOut.filter((s) => s.source === 'REQUEST').map((s) => [s.query_id, s]));
    const heuristic = meanNdcg5(fresh, (q) => (heuristicByQuery.get(workloadHash(q.workload)) as InstanceSuggestion).ranked.map((r) => offerKey(r.instance)));
    expect(heuristicByQuery.size).toBe(fresh.length);
    console.log(`replay: ${labels} labels, ${models.length} training runs; fresh workloads NDCG@5 served ${served.toFixed(3)} vs heuristic ${heuristic.toFixed(3)}`);
    expect(served).toBeGreaterThan(heuristic + 0.2);
  }, 60_000);
});

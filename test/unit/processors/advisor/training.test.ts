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
import { costCounts, scoreRow, trainAndEvaluate, type TrainingDoc } from '../../../../processors/advisor/ltr/training.ts';
import { servingState } from '../../../../processors/advisor/servingModel.ts';
import { toModelRecord } from '../../../../processors/advisor/trainer.ts';
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
    // Whole queries are held out (16 of 80 here); those with two different labels count.
    expect(good.quality!.queries).toBeGreaterThan(5);
    // On the truthful simulator the heuristic's own cost estimate is close to the hidden utility's main term, so the margin is smaller than on
    // the old data (0.97 vs 0.04 there): the model still wins on the sweet spot and tree-model terms the heuristic does not express.
    expect(good.quality!.ndcgAt5).toBeGreaterThan(good.heuristic!.ndcgAt5 + 0.02);
    // A stump on the same documents (same held-out split): it must lose to the model in service.
    const stump = { ...options, lambdaMart: { ...options.lambdaMart, trees: 1, leaves: 2 } };
    const bad = trainAndEvaluate(docsOf(ltrQueries(80, 5, 0)), catalog, new Map(), { version: 'ltr-1', model: good.model }, { version: 'ltr-2', trainedAt: T0, labelsSeen: 2000 }, stump);
    expect(bad.heuristic!.ndcgAt5).toBeCloseTo(good.heuristic!.ndcgAt5, 12);
    expect(bad.baselineVersion).toBe('ltr-1');
    expect(bad.promoted).toBe(false);
    expect(bad.reason).toMatch(/< .* of ltr-1/);
  });

  it('serves a learned ranker only while it beats the heuristic on the same held-out queries, and says why not', { timeout: 30_000 }, () => {
    const docs = docsOf(ltrQueries(80, 5, 0));
    const good = trainAndEvaluate(docs, catalog, new Map(), null, { version: 'ltr-1', trainedAt: T0, labelsSeen: 1000 }, options);
    expect(good).toMatchObject({ promoted: true, heuristicServes: false });
    const gain = good.quality!.ndcgAt5 - good.heuristic!.ndcgAt5;
    expect(gain).toBeGreaterThan(0.02);
    // Asked to beat the heuristic by more than it does, the same model is refused, and the heuristic serves.
    const demanding = { ...options, minGainOverHeuristic: gain + 0.01 };
    const first = trainAndEvaluate(docs, catalog, new Map(), null, { version: 'ltr-1', trainedAt: T0, labelsSeen: 1000 }, demanding);
    expect(first).toMatchObject({ promoted: false, heuristicServes: true });
    expect(first.reason).toMatch(/does not beat 0\.\d{4} of the heuristic by more than 0\.\d+; the heuristic serves/);
    // The model in service is judged again at each run: when it no longer beats the heuristic, the heuristic serves.
    const later = trainAndEvaluate(docs, catalog, new Map(), { version: 'ltr-1', model: good.model }, { version: 'ltr-2', trainedAt: T0, labelsSeen: 2000 }, demanding);
    expect(later).toMatchObject({ promoted: false, heuristicServes: true });
    expect(later.reason).toMatch(/ltr-1 no longer earns its place either \(NDCG@5 0\.\d{4} vs 0\.\d{4} of the heuristic\): the heuristic serves/);
    const keeps = trainAndEvaluate(docs, catalog, new Map(), { version: 'ltr-1', model: good.model }, { version: 'ltr-2', trainedAt: T0, labelsSeen: 2000 }, { ...options, lambdaMart: { ...options.lambdaMart, trees: 1, leaves: 2 } });
    expect(keeps).toMatchObject({ promoted: false, heuristicServes: false });
    expect(keeps.reason).toMatch(/ltr-1 keeps serving/);

    // What serves follows the latest run's verdict, and refuses a model of another feature layout.
    const record = (run: ReturnType<typeof trainAndEvaluate>, sequence: number) => toModelRecord(run, sequence, T0, 1000, 1);
    const table = (...runs: AdvisorModel[]) => new Map(runs.map((m) => [m.model_version, m]));
    expect(servingState(table(record(good, 1))).model?.serving.version).toBe('ltr-1');
    expect(servingState(table(record(good, 1), record(keeps, 2))).model?.serving.version).toBe('ltr-1');
    const fallback = servingState(table(record(good, 1), record(later, 2)));
    expect(fallback.model).toBeNull();
    expect(fallback.heuristicReason).toMatch(/^ltr-2: .*no longer earns its place/);
    const oldLayout = { ...record(good, 3), model_version: 'ltr-old', onnx: Buffer.from(toOnnx(good.model, { version: 'ltr-old', trainedAt: '2026-01-01T00:00:00.000Z', samples: 1, queries: 1, featureNames: FEATURE_NAMES.slice(0, 26) })) };
    expect(servingState(table(oldLayout)).heuristicReason).toMatch(/ltr-old was trained on another feature layout \(26 features, this version computes 31\)/);
  });

  it('refuses a model whose picks cost more than the heuristic\'s where the held-out queries ran, however its NDCG', { timeout: 30_000 }, () => {
    // Labels that reward what costs more: every run succeeded, and a run graded g cost 1 + g per hour of work at the offer's
    // on-demand price. A model that learns the labels picks the dearest runs; where the held-out queries ran, that shows.
    const queries = ltrQueries(80, 5, 0);
    const docs: TrainingDoc[] = queries.flatMap((q) =>
      q.offers.map((o, i) => ({ queryId: q.id, offerKey: offerKey(o), workload: q.workload, labelSum: q.labels[i] as number, runs: 1, ...costCounts(undefined, true, (1 + (q.labels[i] as number)) * (q.workload.expected_duration_h as number), o.on_demand_price_usd, q.workload.expected_duration_h) })),
    );
    const run = trainAndEvaluate(docs, catalog, new Map(), null, { version: 'ltr-1', trainedAt: T0, labelsSeen: docs.length }, options);
    expect(run.quality!.ndcgAt5).toBeGreaterThan(run.heuristic!.ndcgAt5);
    expect(run.costRegret!.queries).toBeGreaterThan(5);
    expect(run.costRegret!.meanRegret).toBeGreaterThan(run.heuristicCostRegret!.meanRegret);
    expect(run).toMatchObject({ promoted: false, heuristicServes: true });
    expect(run.reason).toMatch(/its picks cost more than the heuristic's where the held-out queries ran \(observed cost regret \d+\.\d% > \d+\.\d%, over \d+ queries\); the heuristic serves/);
    // A tolerance lets the operator trade some cost for what the labels value.
    const tolerant = trainAndEvaluate(docs, catalog, new Map(), null, { version: 'ltr-1', trainedAt: T0, labelsSeen: docs.length }, { ...options, maxCostRegretGap: run.costRegret!.meanRegret - run.heuristicCostRegret!.meanRegret + 0.01 });
    expect(tolerant.promoted).toBe(true);
    expect(toModelRecord(run, 1, T0, docs.length, 1)).toMatchObject({ observed_cost_regret: run.costRegret!.meanRegret, heuristic_observed_cost_regret: run.heuristicCostRegret!.meanRegret, cost_queries: run.heuristicCostRegret!.queries });
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
    const models = replayEvents(events, config).filter((o) => o.topic === 'advisor-models' && 'value' in o && o.value !== null).map((o) => (o as { value: AdvisorModel }).value);
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
    // As on the broker (advisor-retrains-from-its-own-feedback): this data's labels value the
    // headroom sweet spot over cost by construction, so the cost guard is relaxed here; it has
    // its own test above.
    config.advisor.maxCostRegretGap = 10;
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
    const models = out.filter((o) => o.topic === 'advisor-models' && 'value' in o && o.value !== null).map((o) => (o as { value: AdvisorModel }).value);
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
    expect(served).toBeGreaterThan(heuristic + 0.03);
  }, 60_000);
});

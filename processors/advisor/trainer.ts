/**
 * The learned ranker's trainer on the stream. Relevance labels are re-keyed to one key,
 * so a single task (on one partition of the repartition topic) sees them all and keeps the
 * training set in change-logged stores: one document per (query, offer) with the sum and
 * count of its labels, plus counters. Once `minTrainingLabels` labels are in, it trains;
 * after that, every `retrainEveryLabels` new labels, but not sooner than
 * `retrainMinIntervalMs` of stream time after the previous run (at thousands of labels a
 * second, training after every few hundred would keep the task busy training). Each run
 * is evaluated on held-out documents and emitted to the compacted advisor-models topic
 * (promoted or not, with the reason, and whether the heuristic serves because no model
 * beats it); the advisor on every instance reads that topic as a global table and serves
 * accordingly (servingModel.ts). Runs beyond the newest `keepModels` (the serving model
 * always kept) are tombstoned in the same transaction, so the topic does not grow forever.
 *
 * Training is deterministic (LambdaMART here has no randomness), so a replay after a crash
 * retrains the same model from the same restored documents. Where it runs is the `trainer`
 * option: in the thread by default (a replay, `retrain`: one record after another, the output
 * a function of the input alone), or in the live service's training worker
 * (ltr/trainingWorker.ts), which gives the same bytes off the event loop; `process` then
 * returns a promise for the record that trains, and the runtime awaits it before the task's
 * next record. Its cost is bounded by `maxTrainingDocs` (BENCHMARKS.md has the time per run).
 */
import type { AdvisorModel, InstanceOffer, RelevanceLabel } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext, Repartition } from '../../topology/processor.ts';
import { offerKey } from '../cost/labelsByOffer.ts';
import { costCounts, type TrainingDoc, type TrainingOptions, type TrainingRun } from './ltr/training.ts';
import { trainInThread, type Trainer } from './ltr/trainingWorker.ts';
import { highestSequence, modelsToTombstone, servingModel } from './servingModel.ts';

export const TRAINING_DOCS_STORE = 'advisor-training-docs';
export const TRAINING_META_STORE = 'advisor-training-meta';

/** Every label to one key: the training set is global, so one task holds it. */
export const LABELS_FOR_TRAINING: Repartition<'relevance-labels'> = {
  name: 'labels-for-training',
  from: 'relevance-labels',
  key: () => 'advisor',
};

export interface TrainerOptions extends TrainingOptions {
  minTrainingLabels: number;
  retrainEveryLabels: number;
  /** Event time (of the labels) between two training runs at least: at high label rates, retraining follows time, not every label batch. */
  retrainMinIntervalMs: number;
  maxTrainingDocs: number;
  /** Training runs kept in advisor-models (the newest, and the serving one); older ones are tombstoned. */
  keepModels: number;
  /** Where a run trains: in the thread (default) or, for the live service, in the training worker. */
  trainer?: Trainer;
}

interface StoredDoc extends TrainingDoc {
  lastEventTime: number;
}

export interface TrainingMeta {
  labelsSeen: number;
  labelsSinceTraining: number;
  trainingRuns: number;
  /** Event time of the label that triggered the last training run. */
  lastTrainedAt?: number;
}

export function trainerProcessor(options: TrainerOptions): Processor {
  return {
    name: 'advisor-trainer',
    inputs: [],
    repartitions: [LABELS_FOR_TRAINING],
    globalTables: ['instance-catalog', 'spot-risk', 'advisor-models', 'workload-scaling'],
    stores: [{ name: TRAINING_DOCS_STORE }, { name: TRAINING_META_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void | Promise<void> {
      const label = record.value as RelevanceLabel;
      const docs = ctx.getStateStore<StoredDoc>(TRAINING_DOCS_STORE);
      const metaStore = ctx.getStateStore<TrainingMeta>(TRAINING_META_STORE);
      const key = `${label.query_id}|${offerKey(label.instance)}`;
      const prev = docs.get(key);
      docs.put(key, {
        queryId: label.query_id,
        offerKey: offerKey(label.instance),
        workload: label.workload,
        labelSum: (prev?.labelSum ?? 0) + label.label,
        runs: (prev?.runs ?? 0) + 1,
        // A document kept before these counts existed starts them with this run.
        ...costCounts(prev, label.status === 'SUCCEEDED', label.cost_usd, label.instance.hourly_price_usd, label.workload.expected_duration_h),
        lastEventTime: Math.max(prev?.lastEventTime ?? 0, label.event_time),
      });
      if (docs.size > options.maxTrainingDocs) evictOldest(docs, docs.size - Math.floor(options.maxTrainingDocs * 0.99), ctx);
      const meta = metaStore.get('meta') ?? { labelsSeen: 0, labelsSinceTraining: 0, trainingRuns: 0 };
      const next = { ...meta, labelsSeen: meta.labelsSeen + 1, labelsSinceTraining: meta.labelsSinceTraining + 1 };
      // The labels' own time, not the task's: the task also reads the raw topics, whose stream
      // time may be far ahead of the labels still coming through the repartition.
      const now = Math.max(meta.lastTrainedAt ?? Number.NEGATIVE_INFINITY, label.event_time);
      const due =
        next.labelsSeen >= options.minTrainingLabels &&
        (next.trainingRuns === 0 || (next.labelsSinceTraining >= options.retrainEveryLabels && now - (next.lastTrainedAt ?? Number.NEGATIVE_INFINITY) >= options.retrainMinIntervalMs));
      if (!due) {
        metaStore.put('meta', next);
        return;
      }
      const trained = ([version, model]: [string, AdvisorModel]) => {
        ctx.forward('advisor-models', version, model);
        // Rejected runs and superseded promoted ones beyond keepModels leave the compacted topic.
        const gone = modelsToTombstone(ctx.getGlobalTable('advisor-models'), model, options.keepModels);
        for (const key of gone) ctx.tombstone('advisor-models', key);
        if (gone.length > 0) ctx.count('models-tombstoned', gone.length);
        metaStore.put('meta', { ...next, labelsSinceTraining: 0, trainingRuns: next.trainingRuns + 1, lastTrainedAt: now });
      };
      const run = train(ctx, [...docs.entries()].map(([, d]) => d), next, options);
      if (run instanceof Promise) return run.then(trained);
      trained(run);
    },
  };
}

/** Documents not updated for the longest leave first (a batch at a time: the scan is O(n)). */
function evictOldest(docs: { entries(): IterableIterator<[string, StoredDoc]>; delete(k: string): void }, n: number, ctx: ProcessorContext): void {
  const oldest = [...docs.entries()].sort((a, b) => a[1].lastEventTime - b[1].lastEventTime || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  for (const [k] of oldest) docs.delete(k);
  ctx.count('training-docs-evicted', oldest.length);
}

function train(ctx: ProcessorContext, docs: StoredDoc[], meta: TrainingMeta, options: TrainerOptions): [string, AdvisorModel] | Promise<[string, AdvisorModel]> {
  const models = ctx.getGlobalTable('advisor-models');
  const catalog = new Map<string, InstanceOffer>();
  for (const o of ctx.getGlobalTable('instance-catalog').values()) catalog.set(offerKey(o), o);
  const current = servingModel(models);
  // Counted from what the topic holds too, so a model published by `retrain` is never shadowed.
  const sequence = Math.max(meta.trainingRuns, highestSequence(models)) + 1;
  const version = `ltr-${sequence}`;
  docs.sort((a, b) => (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : a.offerKey < b.offerKey ? -1 : 1));
  const started = performance.now();
  const trainedAt = ctx.streamTime;
  const { trainer = trainInThread, ...trainingOptions } = options;
  const run = trainer({ docs, catalog, risks: ctx.getGlobalTable('spot-risk'), current: current?.serving ?? null, meta: { version, trainedAt, labelsSeen: meta.labelsSeen }, options: trainingOptions, scaling: ctx.getGlobalTable('workload-scaling') });
  const record = (r: TrainingRun): [string, AdvisorModel] => {
    ctx.count(r.promoted ? 'models-promoted' : 'models-rejected');
    return [version, toModelRecord(r, sequence, trainedAt, meta.labelsSeen, performance.now() - started)];
  };
  return run instanceof Promise ? run.then(record) : record(run);
}

export function toModelRecord(run: TrainingRun, sequence: number, eventTime: number, labelsSeen: number, trainingMs: number): AdvisorModel {
  return {
    event_id: `model:${run.version}`,
    event_time: eventTime,
    model_version: run.version,
    sequence,
    promoted: run.promoted,
    reason: run.reason,
    labels_seen: labelsSeen,
    training_docs: run.trainingDocs,
    training_queries: run.trainingQueries,
    heldout_docs: run.heldoutDocs,
    heldout_queries: run.quality?.queries ?? 0,
    ndcg_at_5: run.quality?.ndcgAt5 ?? null,
    ndcg_at_10: run.quality?.ndcgAt10 ?? null,
    mrr: run.quality?.mrr ?? null,
    baseline_version: run.baselineVersion,
    baseline_ndcg_at_5: run.baseline?.ndcgAt5 ?? null,
    baseline_ndcg_at_10: run.baseline?.ndcgAt10 ?? null,
    baseline_mrr: run.baseline?.mrr ?? null,
    heuristic_ndcg_at_5: run.heuristic?.ndcgAt5 ?? null,
    training_ms: trainingMs,
    heuristic_serves: run.heuristicServes,
    observed_cost_regret: run.costRegret?.meanRegret ?? null,
    heuristic_observed_cost_regret: run.heuristicCostRegret?.meanRegret ?? null,
    cost_queries: run.heuristicCostRegret?.queries ?? 0,
    onnx: run.promoted ? Buffer.from(run.onnx) : null,
  };
}

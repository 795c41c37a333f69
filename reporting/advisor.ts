/**
 * The advisor's reads from ClickHouse, for the commands that work without the stream
 * (`recommend`, `retrain`): the training documents rebuilt from the relevance labels, and the
 * latest promoted model. Bound parameters only.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { AdvisorModel, ModelFramework } from '../schemas/generated/records.ts';
import { highestSequence, servingState } from '../processors/advisor/servingModel.ts';
import type { ServingModel, TrainingDoc } from '../processors/advisor/ltr/training.ts';

/** One document per (query, offer): the sum and count of its labels, as the trainer keeps them. */
export async function trainingDocs(client: ClickHouseClient, db: string, limit: number): Promise<{ docs: TrainingDoc[]; labels: number }> {
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT query_id, concat(instance_provider, '/', instance_region, '/', instance_instance_type) AS offer,
            sum(label) AS label_sum, count() AS runs, max(event_time) AS last, countIf(CAST(status AS String) = 'SUCCEEDED') AS successes,
            sumIf(if(instance_hourly_price_usd > 0, cost_usd / instance_hourly_price_usd, 0) / if(ifNull(workload_expected_duration_h, 0) > 0, workload_expected_duration_h, 1), CAST(status AS String) = 'SUCCEEDED') AS success_hours_sum,
            argMax(workload_framework, event_time) AS framework, argMax(workload_model_family, event_time) AS model_family,
            argMax(workload_param_count, event_time) AS param_count, argMax(workload_dataset_size_gb, event_time) AS dataset_size_gb,
            argMax(workload_gpu_memory_required_gb, event_time) AS gpu_memory_required_gb, argMax(workload_num_gpus, event_time) AS num_gpus,
            argMax(workload_expected_duration_h, event_time) AS expected_duration_h, argMax(workload_distributed, event_time) AS distributed,
            argMax(workload_gpu_memory_sharded, event_time) AS gpu_memory_sharded, argMax(workload_max_nodes, event_time) AS max_nodes
     FROM ${db}.relevance_labels FINAL
     GROUP BY query_id, offer ORDER BY last DESC, query_id, offer LIMIT {limit:UInt32}`,
    { limit },
  );
  const docs = rows.map((r) => ({
    queryId: String(r.query_id),
    offerKey: String(r.offer),
    labelSum: Number(r.label_sum),
    costRuns: Number(r.runs),
    successes: Number(r.successes),
    successHoursSum: Number(r.success_hours_sum),
    runs: Number(r.runs),
    workload: {
      framework: String(r.framework) as ModelFramework,
      model_family: String(r.model_family),
      param_count: Number(r.param_count),
      dataset_size_gb: Number(r.dataset_size_gb),
      gpu_memory_required_gb: Number(r.gpu_memory_required_gb),
      num_gpus: Number(r.num_gpus),
      expected_duration_h: r.expected_duration_h === null ? null : Number(r.expected_duration_h),
      distributed: Boolean(r.distributed),
      gpu_memory_sharded: Boolean(r.gpu_memory_sharded),
      max_nodes: Number(r.max_nodes ?? 1),
    },
  }));
  docs.sort((a, b) => (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : a.offerKey < b.offerKey ? -1 : 1));
  return { docs, labels: docs.reduce((s, d) => s + d.runs, 0) };
}

export interface StoredModel {
  version: string;
  sequence: number;
  serving: ServingModel | null;
  ndcgAt5: number | null;
}

/**
 * What serves according to ClickHouse's copy of advisor-models, decided exactly as the
 * stream decides it (servingState): the promoted model of the highest sequence, unless the
 * latest run says the heuristic serves or the model's feature layout is not this version's.
 * Also the highest sequence of any run.
 */
export async function latestModel(client: ClickHouseClient, db: string): Promise<{ promoted: StoredModel | null; heuristicReason: string | null; highestSequence: number }> {
  const rows = await queryRows<{ version: string; sequence: number; promoted: boolean; reason: string; heuristic_serves: boolean; onnx: string | null; ndcg5: number | null }>(
    client,
    `SELECT model_version AS version, sequence, promoted, reason, heuristic_serves, onnx, ndcg_at_5 AS ndcg5 FROM (
       (SELECT * FROM ${db}.advisor_models FINAL ORDER BY sequence DESC LIMIT 1)
       UNION ALL (SELECT * FROM ${db}.advisor_models FINAL WHERE promoted AND onnx IS NOT NULL ORDER BY sequence DESC LIMIT 1))`,
  );
  const table = new Map<string, AdvisorModel>(
    rows.map((r) => [
      r.version,
      { model_version: r.version, sequence: Number(r.sequence), promoted: Boolean(r.promoted), reason: r.reason, heuristic_serves: Boolean(r.heuristic_serves), onnx: r.onnx ? Buffer.from(r.onnx, 'base64') : null, ndcg_at_5: r.ndcg5 } as AdvisorModel,
    ]),
  );
  const state = servingState(table);
  const m = state.model;
  return {
    promoted: m ? { version: m.record.model_version, sequence: m.record.sequence, ndcgAt5: m.record.ndcg_at_5, serving: m.serving } : null,
    heuristicReason: state.heuristicReason,
    highestSequence: highestSequence(table),
  };
}

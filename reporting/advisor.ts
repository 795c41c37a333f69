/**
 * The advisor's reads from ClickHouse, for the commands that work without the stream
 * (`recommend`, `retrain`): the training documents rebuilt from the relevance labels, and the
 * latest promoted model. Bound parameters only.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { ModelFramework } from '../schemas/generated/records.ts';
import { fromOnnx } from '../processors/advisor/ltr/onnxImport.ts';
import type { ServingModel, TrainingDoc } from '../processors/advisor/ltr/training.ts';

/** One document per (query, offer): the sum and count of its labels, as the trainer keeps them. */
export async function trainingDocs(client: ClickHouseClient, db: string, limit: number): Promise<{ docs: TrainingDoc[]; labels: number }> {
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT query_id, concat(instance_provider, '/', instance_region, '/', instance_instance_type) AS offer,
            sum(label) AS label_sum, count() AS runs, max(event_time) AS last,
            argMax(workload_framework, event_time) AS framework, argMax(workload_model_family, event_time) AS model_family,
            argMax(workload_param_count, event_time) AS param_count, argMax(workload_dataset_size_gb, event_time) AS dataset_size_gb,
            argMax(workload_gpu_memory_required_gb, event_time) AS gpu_memory_required_gb, argMax(workload_num_gpus, event_time) AS num_gpus,
            argMax(workload_expected_duration_h, event_time) AS expected_duration_h, argMax(workload_distributed, event_time) AS distributed
     FROM ${db}.relevance_labels FINAL
     GROUP BY query_id, offer ORDER BY last DESC, query_id, offer LIMIT {limit:UInt32}`,
    { limit },
  );
  const docs = rows.map((r) => ({
    queryId: String(r.query_id),
    offerKey: String(r.offer),
    labelSum: Number(r.label_sum),
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

/** The promoted model of the highest sequence (null before any), and the highest sequence of any run. */
export async function latestModel(client: ClickHouseClient, db: string): Promise<{ promoted: StoredModel | null; highestSequence: number }> {
  const [top] = await queryRows<{ s: number | null }>(client, `SELECT max(sequence) AS s FROM ${db}.advisor_models FINAL`);
  const [row] = await queryRows<{ version: string; sequence: number; onnx: string | null; ndcg5: number | null }>(
    client,
    `SELECT model_version AS version, sequence, onnx, ndcg_at_5 AS ndcg5 FROM ${db}.advisor_models FINAL WHERE promoted AND onnx IS NOT NULL ORDER BY sequence DESC LIMIT 1`,
  );
  const promoted = row
    ? { version: row.version, sequence: Number(row.sequence), ndcgAt5: row.ndcg5, serving: row.onnx ? { version: row.version, model: fromOnnx(Buffer.from(row.onnx, 'base64')).model } : null }
    : null;
  return { promoted, highestSequence: Number(top?.s ?? 0) };
}

/**
 * On-demand storage advice, the entry points the CLI calls: `analyze(dataset)` and `analyzeAll`.
 * They replay the dataset-access history kept in ClickHouse through the same StorageModel
 * the stream runs, in event-time order, and evaluate at `at` (default: the latest access of
 * any dataset, which is where stream time stands once the stream has read them all), so
 * they give the stream's answers, savings included.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { DatasetAccess, TieringDecision } from '../schemas/generated/records.ts';
import type { StorageModelOptions } from '../processors/storage/model.ts';
import { replayAccesses } from '../processors/storage/replay.ts';

interface AccessRow {
  event_id: string;
  event_time: string;
  dataset_id: string;
  version: number;
  format: string;
  tabular: boolean;
  size_bytes: string;
  file_count: number;
  operation: string;
}

async function loadAccesses(client: ClickHouseClient, database: string, datasetId: string | null): Promise<DatasetAccess[]> {
  const where = datasetId === null ? '' : 'WHERE dataset_id = {dataset:String}';
  const rows = await queryRows<AccessRow>(
    client,
    `SELECT event_id, toUnixTimestamp64Milli(event_time) AS event_time, dataset_id, version, format, tabular, size_bytes, file_count, operation
     FROM ${database}.dataset_access FINAL ${where} ORDER BY event_time, event_id`,
    datasetId === null ? {} : { dataset: datasetId },
  );
  return rows.map((r) => ({
    event_id: r.event_id,
    event_time: Number(r.event_time),
    dataset_id: r.dataset_id,
    version: Number(r.version),
    format: r.format as DatasetAccess['format'],
    tabular: Boolean(r.tabular),
    size_bytes: Number(r.size_bytes),
    file_count: Number(r.file_count),
    operation: r.operation as DatasetAccess['operation'],
  }));
}

async function latestAccessTime(client: ClickHouseClient, database: string): Promise<number> {
  const [row] = await queryRows<{ t: string }>(client, `SELECT toUnixTimestamp64Milli(max(event_time)) AS t FROM ${database}.dataset_access`);
  return Number(row?.t ?? 0);
}

/** Advice for one dataset; null when ClickHouse has never seen it. */
export async function analyze(client: ClickHouseClient, database: string, datasetId: string, options: StorageModelOptions, at?: number): Promise<TieringDecision | null> {
  const { model } = replayAccesses(await loadAccesses(client, database, datasetId), options);
  const when = at ?? (await latestAccessTime(client, database));
  model.advanceTo(when);
  return model.analyze(datasetId, when);
}

/** Advice for every dataset, with the total monthly saving. */
export async function analyzeAll(client: ClickHouseClient, database: string, options: StorageModelOptions, at?: number): Promise<{ decisions: TieringDecision[]; monthlySavingUsd: number }> {
  const { model, lastEventTime } = replayAccesses(await loadAccesses(client, database, null), options);
  const when = at ?? lastEventTime;
  model.advanceTo(when);
  const decisions = model.analyzeAll(when);
  return { decisions, monthlySavingUsd: Math.round(decisions.reduce((s, d) => s + d.monthly_saving_usd, 0) * 100) / 100 };
}

/**
 * Which learned model serves: the promoted record of the highest sequence in the
 * advisor-models global table (every instance reads the whole compacted topic). Its ONNX
 * bytes are parsed once per version and cached, so a request costs a scan of a small map.
 */
import type { AdvisorModel } from '../../schemas/generated/records.ts';
import { fromOnnx } from './ltr/onnxImport.ts';
import type { ServingModel } from './ltr/training.ts';

export interface ServingModelRecord {
  record: AdvisorModel;
  serving: ServingModel;
}

const parsed = new Map<string, ServingModel>();

/** The latest promoted model record, or null before any model has been promoted. */
export function latestPromoted(table: ReadonlyMap<string, AdvisorModel>): AdvisorModel | null {
  let best: AdvisorModel | null = null;
  for (const m of table.values()) {
    if (m.promoted && m.onnx && (!best || m.sequence > best.sequence)) best = m;
  }
  return best;
}

/** The highest sequence of any record, promoted or not: where the next training run counts from. */
export function highestSequence(table: ReadonlyMap<string, AdvisorModel>): number {
  let s = 0;
  for (const m of table.values()) s = Math.max(s, m.sequence);
  return s;
}

export function servingModel(table: ReadonlyMap<string, AdvisorModel>): ServingModelRecord | null {
  const record = latestPromoted(table);
  if (!record?.onnx) return null;
  const cacheKey = `${record.model_version}#${record.sequence}`;
  let serving = parsed.get(cacheKey);
  if (!serving) {
    serving = { version: record.model_version, model: fromOnnx(record.onnx).model };
    // Versions only move forward: keep the cache to the few most recent.
    if (parsed.size >= 8) parsed.delete(parsed.keys().next().value as string);
    parsed.set(cacheKey, serving);
  }
  return { record, serving };
}

/**
 * Which learned model serves: the promoted record of the highest sequence in the
 * advisor-models global table (every instance reads the whole compacted topic), unless
 * - the record of the highest sequence says no model beats the heuristic any more
 *   (`heuristic_serves`: the trainer judged the model in service again and it lost), or
 * - the promoted model was trained on another feature layout than this code's
 *   (FEATURE_NAMES): its trees would read the wrong columns.
 * In both cases the heuristic serves, and `servingState` says why. ONNX bytes are parsed
 * once per version and cached, so a request costs a scan of a small map.
 */
import type { AdvisorModel } from '../../schemas/generated/records.ts';
import { FEATURE_NAMES } from './features.ts';
import { fromOnnx } from './ltr/onnxImport.ts';
import type { ServingModel } from './ltr/training.ts';

export interface ServingModelRecord {
  record: AdvisorModel;
  serving: ServingModel;
}

export interface ServingState {
  /** The model that serves; null: the heuristic does. */
  model: ServingModelRecord | null;
  /** Why the heuristic serves (null while a model does, or before any training run). */
  heuristicReason: string | null;
}

const parsed = new Map<string, { serving: ServingModel; featureNames: string }>();
const LAYOUT = FEATURE_NAMES.join(',');

/** The latest promoted model record, or null before any model has been promoted. */
export function latestPromoted(table: ReadonlyMap<string, AdvisorModel>): AdvisorModel | null {
  let best: AdvisorModel | null = null;
  for (const m of table.values()) {
    if (m.promoted && m.onnx && (!best || m.sequence > best.sequence)) best = m;
  }
  return best;
}

/** The record of the highest sequence, promoted or not: the trainer's latest verdict. */
export function latestRun(table: ReadonlyMap<string, AdvisorModel>): AdvisorModel | null {
  let best: AdvisorModel | null = null;
  for (const m of table.values()) if (!best || m.sequence > best.sequence) best = m;
  return best;
}

/** The highest sequence of any record, promoted or not: where the next training run counts from. */
export function highestSequence(table: ReadonlyMap<string, AdvisorModel>): number {
  return latestRun(table)?.sequence ?? 0;
}

function parse(record: AdvisorModel): { serving: ServingModel; featureNames: string } {
  const cacheKey = `${record.model_version}#${record.sequence}`;
  let entry = parsed.get(cacheKey);
  if (!entry) {
    const imported = fromOnnx(record.onnx as Uint8Array);
    entry = { serving: { version: record.model_version, model: imported.model }, featureNames: imported.metadata.feature_names ?? '' };
    // Versions only move forward: keep the cache to the few most recent.
    if (parsed.size >= 8) parsed.delete(parsed.keys().next().value as string);
    parsed.set(cacheKey, entry);
  }
  return entry;
}

export function servingState(table: ReadonlyMap<string, AdvisorModel>): ServingState {
  const latest = latestRun(table);
  if (latest?.heuristic_serves) return { model: null, heuristicReason: `${latest.model_version}: ${latest.reason}` };
  const record = latestPromoted(table);
  if (!record?.onnx) return { model: null, heuristicReason: latest ? `no model promoted yet (${latest.model_version}: ${latest.reason})` : null };
  const { serving, featureNames } = parse(record);
  if (featureNames !== LAYOUT) return { model: null, heuristicReason: `${record.model_version} was trained on another feature layout (${featureNames.split(',').length} features, this version computes ${FEATURE_NAMES.length}); the next training run replaces it` };
  return { model: { record, serving }, heuristicReason: null };
}

export function servingModel(table: ReadonlyMap<string, AdvisorModel>): ServingModelRecord | null {
  return servingState(table).model;
}

/**
 * The advisor-models keys to tombstone once `added` is published: every record but the
 * `keep` newest by sequence (`added` included) and the latest promoted one (the model that
 * serves, however old). Rejected runs and superseded promoted ones beyond `keep` go, so the
 * compacted topic, and the global table every instance scans per dispatch, stay small.
 */
export function modelsToTombstone(table: ReadonlyMap<string, AdvisorModel>, added: AdvisorModel, keep: number): string[] {
  const records = new Map(table);
  records.set(added.model_version, added);
  const kept = new Set(
    [...records]
      .sort((a, b) => b[1].sequence - a[1].sequence || (a[0] < b[0] ? -1 : 1))
      .slice(0, keep)
      .map(([k]) => k),
  );
  const promoted = latestPromoted(records);
  const out: string[] = [];
  for (const [key, m] of records) if (!kept.has(key) && m !== promoted) out.push(key);
  return out.sort();
}

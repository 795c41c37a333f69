/**
 * Per-dataset usage state and the tiering decisions it leads to, over any key-value store.
 * The stream processor runs it on its change-logged stores; `analyze` runs the very same
 * code over the access history in ClickHouse, so both give the same answers.
 *
 * Evaluation instants: each access of a dataset (at its event time), and every UTC day
 * boundary that stream time crosses (for every dataset), so a dataset nobody reads still
 * turns WARM, then COLD. A boundary is evaluated before the record that crosses it is
 * applied, so decisions depend only on the records' order, never on batching.
 */
import type { DatasetAccess, StorageTier, TieringDecision } from '../../schemas/generated/records.ts';
import { accessesInLast, activeDaysInLast, dayIndex, DAY_MS, formatAdvice, monthlySaving, tierOf, type StorageRules } from './tiering.ts';

export interface DatasetState {
  datasetId: string;
  firstSeen: number;
  lastAccess: number | null;
  /** Accesses per UTC day index, the last 90 days only: bounded however busy the dataset. */
  days: Record<string, number>;
  sizeBytes: number;
  format: string;
  tabular: boolean;
  fileCount: number;
  version: number;
  /** Size per version, the last `maxVersionsKept`: growth across versions. */
  versions: Array<{ version: number; sizeBytes: number; time: number }>;
  /** What was last emitted. */
  tier: StorageTier | null;
  advice: string | null;
}

export interface StateStore<V> {
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  delete(key: string): void;
  entries(): IterableIterator<[string, V]>;
}

export interface StorageModelOptions extends StorageRules {
  /** Operations that count as an access. */
  countedOperations: readonly string[];
  maxVersionsKept: number;
}

export interface Analysis {
  decision: TieringDecision;
  /** Whether this differs from what was last emitted. */
  changed: boolean;
}

const CLOCK_KEY = 'day';
const WINDOW_DAYS = 90;

export class StorageModel {
  constructor(
    private readonly datasets: StateStore<DatasetState>,
    private readonly clock: StateStore<number>,
    private readonly options: StorageModelOptions,
  ) {}

  /** Applies one access record; returns the decisions it causes, in order. */
  onAccess(a: DatasetAccess): TieringDecision[] {
    const out = this.advanceTo(a.event_time);
    if (a.operation === 'DELETE') {
      this.datasets.delete(a.dataset_id);
      return out;
    }
    const prev = this.datasets.get(a.dataset_id);
    const state: DatasetState = prev
      ? { ...prev, days: { ...prev.days }, versions: [...prev.versions] }
      : {
          datasetId: a.dataset_id,
          firstSeen: a.event_time,
          lastAccess: null,
          days: {},
          sizeBytes: a.size_bytes,
          format: a.format,
          tabular: a.tabular,
          fileCount: a.file_count,
          version: a.version,
          versions: [],
          tier: null,
          advice: null,
        };
    if (this.options.countedOperations.includes(a.operation)) {
      const day = String(dayIndex(a.event_time));
      state.days[day] = (state.days[day] ?? 0) + 1;
      state.lastAccess = Math.max(state.lastAccess ?? a.event_time, a.event_time);
    }
    if (a.version >= state.version) {
      Object.assign(state, { sizeBytes: a.size_bytes, format: a.format, tabular: a.tabular, fileCount: a.file_count, version: a.version });
    }
    if (!state.versions.some((v) => v.version === a.version)) {
      state.versions = [...state.versions, { version: a.version, sizeBytes: a.size_bytes, time: a.event_time }]
        .sort((x, y) => x.version - y.version)
        .slice(-this.options.maxVersionsKept);
    }
    const at = Math.max(a.event_time, (this.clock.get(CLOCK_KEY) ?? dayIndex(a.event_time)) * DAY_MS);
    const { decision, changed } = this.evaluate(state, at, true);
    if (changed) out.push(decision);
    return out;
  }

  /** Evaluates every dataset at each day boundary up to `streamTime` not evaluated yet. */
  advanceTo(streamTime: number): TieringDecision[] {
    const today = dayIndex(streamTime);
    const last = this.clock.get(CLOCK_KEY);
    this.clock.put(CLOCK_KEY, Math.max(last ?? today, today));
    if (last === undefined || today <= last) return [];
    const out: TieringDecision[] = [];
    for (let d = last + 1; d <= today; d++) {
      for (const [, state] of [...this.datasets.entries()]) {
        const { decision, changed } = this.evaluate(state, d * DAY_MS, false);
        if (changed) out.push(decision);
      }
    }
    return out;
  }

  /** The current advice for a dataset at `at`, without changing anything. */
  analyze(datasetId: string, at: number): TieringDecision | null {
    const state = this.datasets.get(datasetId);
    return state ? this.decide(state, at).decision : null;
  }

  /** The current advice for every dataset at `at`. */
  analyzeAll(at: number): TieringDecision[] {
    return [...this.datasets.entries()].map(([, s]) => this.decide(s, at).decision).sort((a, b) => a.dataset_id.localeCompare(b.dataset_id));
  }

  private decide(state: DatasetState, at: number): Analysis {
    const today = dayIndex(at);
    const idleDays = (at - (state.lastAccess ?? state.firstSeen)) / DAY_MS;
    const facts = {
      idleDays,
      activeDays7d: activeDaysInLast(state.days, today, 7),
      accesses7d: accessesInLast(state.days, today, 7),
      accesses30d: accessesInLast(state.days, today, 30),
      accesses90d: accessesInLast(state.days, today, WINDOW_DAYS),
      sizeBytes: state.sizeBytes,
    };
    const { tier, reason } = tierOf(state.tier, facts, this.options);
    const advice = formatAdvice(state.format, state.tabular, state.sizeBytes, this.options);
    const decision: TieringDecision = {
      event_id: `tier:${state.datasetId}:${at}`,
      event_time: at,
      dataset_id: state.datasetId,
      tier,
      previous_tier: state.tier,
      accesses_7d: facts.accesses7d,
      accesses_30d: facts.accesses30d,
      accesses_90d: facts.accesses90d,
      last_access_time: state.lastAccess,
      size_bytes: state.sizeBytes,
      format: state.format,
      format_advice: advice?.advice ?? null,
      estimated_size_bytes: advice?.estimatedSizeBytes ?? null,
      monthly_saving_usd: monthlySaving(state.sizeBytes, tier, advice, this.options),
      reason: advice ? `${reason}; ${advice.advice.toLowerCase().replace(/_/g, ' ')}` : reason,
    };
    return { decision, changed: tier !== state.tier || decision.format_advice !== state.advice };
  }

  /** Decides, prunes buckets out of the window, and writes the state back only when something changed. */
  private evaluate(state: DatasetState, at: number, dirty: boolean): Analysis {
    const result = this.decide(state, at);
    const today = dayIndex(at);
    const days: Record<string, number> = {};
    for (const [d, n] of Object.entries(state.days)) if (Number(d) > today - WINDOW_DAYS) days[d] = n;
    const next = { ...state, days, tier: result.decision.tier, advice: result.decision.format_advice };
    const pruned = Object.keys(days).length !== Object.keys(state.days).length;
    if (dirty || result.changed || pruned) this.datasets.put(state.datasetId, next);
    return result;
  }
}

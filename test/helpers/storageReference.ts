/**
 * A brute-force reference for the storage optimizer: it keeps every access of every
 * dataset as a raw list and counts windows by scanning it, with the tier rules written out
 * again here, on purpose, from the text. Only the evaluation instants are shared
 * with the model (each access, and each UTC day boundary stream time crosses).
 */
import type { DatasetAccess, StorageTier } from '../../schemas/generated/records.ts';

const DAY = 86_400_000;
const day = (t: number) => Math.floor(t / DAY);

export interface ReferenceRules {
  hotIdleDays: number;
  hotMonthlyAccesses: number;
  hotExitMonthlyAccesses: number;
  hotEntryDaysInWeek: number;
  coldIdleDays: number;
  coldMonthlyAccesses: number;
  minTieringBytes: number;
  countedOperations: readonly string[];
}

export interface ReferenceDecision {
  dataset_id: string;
  event_time: number;
  tier: StorageTier;
  previous_tier: StorageTier | null;
  accesses_30d: number;
}

interface Ds {
  id: string;
  firstSeen: number;
  reads: number[];
  size: number;
  version: number;
  tier: StorageTier | null;
}

/** Tier decisions (tier changes only) for an in-order log of one partition. */
export function referenceDecisions(log: DatasetAccess[], r: ReferenceRules): ReferenceDecision[] {
  const out: ReferenceDecision[] = [];
  const datasets = new Map<string, Ds>();
  let clock: number | undefined;
  const evaluate = (ds: Ds, at: number) => {
    const today = day(at);
    const inLast = (n: number) => ds.reads.filter((t) => day(t) > today - n && day(t) <= today).length;
    const last = ds.reads.length > 0 ? Math.max(...ds.reads) : ds.firstSeen;
    const idle = (at - last) / DAY;
    const a30 = inLast(30);
    const readDaysThisWeek = new Set(ds.reads.map(day).filter((d) => d > today - 7 && d <= today)).size;
    const recent = idle < r.hotIdleDays && (ds.tier === null || ds.tier === 'HOT' || readDaysThisWeek >= r.hotEntryDaysInWeek);
    let tier: StorageTier;
    if (ds.size < r.minTieringBytes || recent || a30 > r.hotMonthlyAccesses || (ds.tier === 'HOT' && a30 >= r.hotExitMonthlyAccesses)) tier = 'HOT';
    else if (idle >= r.coldIdleDays && inLast(90) / 3 < r.coldMonthlyAccesses) tier = 'COLD';
    else tier = 'WARM';
    if (tier !== ds.tier) out.push({ dataset_id: ds.id, event_time: at, tier, previous_tier: ds.tier, accesses_30d: a30 });
    ds.tier = tier;
  };
  for (const e of log) {
    const today = day(e.event_time);
    if (clock !== undefined) for (let d = clock + 1; d <= today; d++) for (const ds of datasets.values()) evaluate(ds, d * DAY);
    clock = Math.max(clock ?? today, today);
    let ds = datasets.get(e.dataset_id);
    if (!ds) {
      ds = { id: e.dataset_id, firstSeen: e.event_time, reads: [], size: e.size_bytes, version: e.version, tier: null };
      datasets.set(e.dataset_id, ds);
    }
    if (r.countedOperations.includes(e.operation)) ds.reads.push(e.event_time);
    if (e.version >= ds.version) {
      ds.size = e.size_bytes;
      ds.version = e.version;
    }
    evaluate(ds, Math.max(e.event_time, clock * DAY));
  }
  return out;
}

/**
 * Storage tiers and format advice for one dataset at one instant. Pure: no Kafka, no clock.
 *
 * Windows are counted on UTC day buckets: "the last N days" at instant `at` is the N days
 * ending with the day of `at`. Idle time is exact: `at` minus the last access (or, for a
 * dataset never read, its first appearance).
 *
 * Tier rules (thresholds are configuration, `storage.*`):
 * - HOT: idle < 7 days, or more than 4 accesses in the last 30 days.
 * - Hysteresis, both ways, so steady usage near a threshold never flaps:
 *   - a HOT dataset stays HOT while it has at least `hotExitMonthlyAccesses` (3) accesses
 *     in 30 days;
 *   - a WARM or COLD dataset comes back to HOT on "accessed in the last 7 days" only when
 *     it was accessed on at least `hotEntryDaysInWeek` (2) distinct days of the last 7
 *     (more than 4 a month promotes at once). A dataset read every 8 days stays WARM
 *     instead of going HOT on each read and WARM a week later.
 * - COLD: idle >= 90 days and fewer than 1 access a month over the last 90 days.
 * - WARM: everything else, including the 30-90-day band. That is where S3
 *   Intelligent-Tiering and GCS Autoclass keep data too: both move objects to an
 *   infrequent class at 30 days and to an archive class at 90.
 * - Datasets under `minTieringBytes` (128 KiB) stay HOT: like both services, tiering them
 *   would cost more in per-object fees than it saves.
 */
import type { DatasetFormat, StorageTier } from '../../schemas/generated/records.ts';

export const DAY_MS = 86_400_000;
export const GIB = 2 ** 30;

export interface TieringRules {
  hotIdleDays: number;
  hotMonthlyAccesses: number;
  hotExitMonthlyAccesses: number;
  hotEntryDaysInWeek: number;
  coldIdleDays: number;
  coldMonthlyAccesses: number;
  minTieringBytes: number;
}

export interface FormatRules {
  keepAsIsBytes: number;
  csvParquetBytes: number;
  csvParquetRatio: number;
  jsonBytes: number;
  jsonParquetRatio: number;
}

export interface PriceRules {
  /** USD per GiB-month of each tier; today's storage is priced as HOT. */
  priceHotPerGibMonth: number;
  priceWarmPerGibMonth: number;
  priceColdPerGibMonth: number;
}

export type StorageRules = TieringRules & FormatRules & PriceRules;

export function dayIndex(t: number): number {
  return Math.floor(t / DAY_MS);
}

/** Days with at least one access among the `n` UTC days ending with `today`. */
export function activeDaysInLast(days: Record<string, number>, today: number, n: number): number {
  let active = 0;
  for (const [d, count] of Object.entries(days)) if (count > 0 && Number(d) > today - n && Number(d) <= today) active++;
  return active;
}

/** Accesses in the `n` UTC days ending with `today`. */
export function accessesInLast(days: Record<string, number>, today: number, n: number): number {
  let sum = 0;
  for (const [d, count] of Object.entries(days)) if (Number(d) > today - n && Number(d) <= today) sum += count;
  return sum;
}

export interface UsageFacts {
  idleDays: number;
  /** Distinct days with an access among the last 7. */
  activeDays7d: number;
  accesses7d: number;
  accesses30d: number;
  accesses90d: number;
  sizeBytes: number;
}

export function tierOf(current: StorageTier | null, u: UsageFacts, r: TieringRules): { tier: StorageTier; reason: string } {
  if (u.sizeBytes < r.minTieringBytes) return { tier: 'HOT', reason: `under ${r.minTieringBytes} bytes: not worth tiering` };
  const promoting = current !== null && current !== 'HOT';
  if (u.idleDays < r.hotIdleDays && (!promoting || u.activeDays7d >= r.hotEntryDaysInWeek)) {
    return { tier: 'HOT', reason: `accessed ${u.idleDays.toFixed(1)} days ago` };
  }
  if (u.accesses30d > r.hotMonthlyAccesses) return { tier: 'HOT', reason: `${u.accesses30d} accesses in 30 days` };
  if (current === 'HOT' && u.accesses30d >= r.hotExitMonthlyAccesses) {
    return { tier: 'HOT', reason: `${u.accesses30d} accesses in 30 days (stays hot until under ${r.hotExitMonthlyAccesses})` };
  }
  if (u.idleDays >= r.coldIdleDays && u.accesses90d / 3 < r.coldMonthlyAccesses) {
    return { tier: 'COLD', reason: `no access for ${Math.floor(u.idleDays)} days` };
  }
  return { tier: 'WARM', reason: `last access ${Math.floor(u.idleDays)} days ago, ${u.accesses30d} in 30 days` };
}

export interface FormatAdvice {
  advice: string;
  estimatedSizeBytes: number;
}

/** CSV over 100 MB -> Parquet (3-5x, 4 assumed); tabular JSON over 50 MB -> Parquet or JSONL (2-4x, 3 assumed); under 10 MB nothing. */
export function formatAdvice(format: DatasetFormat | string, tabular: boolean, sizeBytes: number, r: FormatRules): FormatAdvice | null {
  if (sizeBytes < r.keepAsIsBytes) return null;
  if (format === 'CSV' && sizeBytes > r.csvParquetBytes) {
    return { advice: 'CONVERT_TO_PARQUET', estimatedSizeBytes: Math.round(sizeBytes / r.csvParquetRatio) };
  }
  if (format === 'JSON' && tabular && sizeBytes > r.jsonBytes) {
    return { advice: 'CONVERT_TO_PARQUET_OR_JSONL', estimatedSizeBytes: Math.round(sizeBytes / r.jsonParquetRatio) };
  }
  return null;
}

export function pricePerGibMonth(tier: StorageTier, r: PriceRules): number {
  return tier === 'HOT' ? r.priceHotPerGibMonth : tier === 'WARM' ? r.priceWarmPerGibMonth : r.priceColdPerGibMonth;
}

/** Monthly saving of moving from today's storage (HOT price, current format) to `tier` with the advised format. */
export function monthlySaving(sizeBytes: number, tier: StorageTier, advice: FormatAdvice | null, r: PriceRules): number {
  const before = (sizeBytes / GIB) * r.priceHotPerGibMonth;
  const after = ((advice?.estimatedSizeBytes ?? sizeBytes) / GIB) * pricePerGibMonth(tier, r);
  return Math.round((before - after) * 10_000) / 10_000;
}

/** A dataset-access log with known tier paths, plus seeded random datasets. */
import type { DatasetAccess } from '../../schemas/generated/records.ts';
import { Random } from '../../simulate/random.ts';

const DAY = 86_400_000;

export function storageLog(start: number, days: number, seed = 1): DatasetAccess[] {
  const rng = new Random(seed);
  const log: DatasetAccess[] = [];
  let n = 0;
  const add = (dataset: string, t: number, format: DatasetAccess['format'], size: number, operation: DatasetAccess['operation'] = 'READ', version = 1, tabular = true) =>
    log.push({ event_id: `acc-${n++}`, event_time: t, dataset_id: dataset, version, format, tabular, size_bytes: size, file_count: 10, operation });
  let fVersion = 1;
  let fSize = 3e9;
  for (let d = 0; d < days; d++) {
    const noon = start + d * DAY + 12 * 3_600_000;
    // A: a 200 MB CSV read daily for 40 days, then never: HOT, WARM, COLD.
    if (d < 40) add('A-daily-then-silent', noon, 'CSV', 200e6);
    // B: read daily all along; it also keeps stream time moving.
    add('B-clock', noon + 60_000, 'JSON', 5e6);
    // C: read every 8 days: about 4 a month, which hysteresis keeps from flapping.
    if (d % 8 === 0) add('C-every-8-days', noon + 120_000, 'PARQUET', 2e9);
    // D: an 80 MB tabular JSON read once.
    if (d === 0) add('D-read-once', noon + 180_000, 'JSON', 80e6);
    // E: 50 KB, never read after its creation: too small to tier.
    if (d === 0) add('E-tiny', noon + 240_000, 'CSV', 50_000, 'WRITE');
    // F: random bursts and growing versions.
    if (rng.chance(d < 60 ? 0.3 : 0.05)) {
      if (rng.chance(0.2)) {
        fVersion++;
        fSize = Math.round(fSize * rng.between(1.01, 1.2));
        add('F-random', noon + 300_000, 'CSV', fSize, 'WRITE', fVersion);
      }
      for (let k = rng.int(1, 4); k > 0; k--) add('F-random', noon + 300_000 + k * 1000, 'CSV', fSize, rng.chance(0.3) ? 'DOWNLOAD' : 'READ', fVersion);
    }
  }
  return log;
}

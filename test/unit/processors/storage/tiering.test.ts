import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { accessesInLast, formatAdvice, GIB, monthlySaving, tierOf } from '../../../../processors/storage/tiering.ts';

const rules = DEFAULTS.storage;
const facts = (f: Partial<Parameters<typeof tierOf>[1]>) => ({ idleDays: 100, activeDays7d: 0, accesses7d: 0, accesses30d: 0, accesses90d: 0, sizeBytes: 10 * GIB, ...f });

describe('tiers', () => {
  it.each([
    ['read in the last 7 days', facts({ idleDays: 6.9, accesses30d: 1, activeDays7d: 1 }), null, 'HOT'],
    ['read once this week, coming from WARM (hysteresis)', facts({ idleDays: 1, accesses30d: 2, activeDays7d: 1 }), 'WARM', 'WARM'],
    ['read on 2 days this week, coming from COLD', facts({ idleDays: 1, accesses30d: 2, activeDays7d: 2 }), 'COLD', 'HOT'],
    ['more than 4 reads a month', facts({ idleDays: 10, accesses30d: 5 }), null, 'HOT'],
    ['4 reads a month, coming from WARM', facts({ idleDays: 10, accesses30d: 4 }), 'WARM', 'WARM'],
    ['3 reads a month, coming from HOT (hysteresis)', facts({ idleDays: 10, accesses30d: 3 }), 'HOT', 'HOT'],
    ['2 reads a month, coming from HOT', facts({ idleDays: 10, accesses30d: 2 }), 'HOT', 'WARM'],
    ['idle 29 days', facts({ idleDays: 29 }), 'HOT', 'WARM'],
    ['idle 31-89 days: the band stays WARM', facts({ idleDays: 89.9 }), 'WARM', 'WARM'],
    ['idle 90 days', facts({ idleDays: 90 }), 'WARM', 'COLD'],
    ['tiny datasets never tier', facts({ idleDays: 400, sizeBytes: 100_000 }), 'HOT', 'HOT'],
  ] as const)('%s', (_name, f, current, tier) => {
    expect(tierOf(current, f, rules).tier).toBe(tier);
  });

  it('counts accesses on UTC day buckets ending today', () => {
    const days = { 100: 2, 95: 1, 71: 4, 70: 8 };
    expect(accessesInLast(days, 100, 7)).toBe(3);
    expect(accessesInLast(days, 100, 30)).toBe(7);
    expect(accessesInLast(days, 100, 31)).toBe(15);
  });
});

describe('format advice and savings', () => {
  it.each([
    ['CSV', true, 200e6, 'CONVERT_TO_PARQUET', 50e6],
    ['CSV', true, 99e6, null, null],
    ['JSON', true, 60e6, 'CONVERT_TO_PARQUET_OR_JSONL', 20e6],
    ['JSON', false, 60e6, null, null],
    ['JSON', true, 40e6, null, null],
    ['CSV', true, 5e6, null, null],
    ['PARQUET', true, 5e9, null, null],
  ] as const)('%s tabular=%s %d bytes', (format, tabular, size, advice, estimate) => {
    const a = formatAdvice(format, tabular, size, rules);
    expect(a?.advice ?? null).toBe(advice);
    expect(a?.estimatedSizeBytes ?? null).toBe(estimate);
  });

  it('prices the move from today (HOT, current format) to the advised tier and format', () => {
    expect(monthlySaving(100 * GIB, 'HOT', null, rules)).toBe(0);
    expect(monthlySaving(100 * GIB, 'COLD', null, rules)).toBeCloseTo(100 * (0.023 - 0.004), 6);
    expect(monthlySaving(100 * GIB, 'WARM', { advice: 'CONVERT_TO_PARQUET', estimatedSizeBytes: 25 * GIB }, rules)).toBeCloseTo(2.3 - 25 * 0.0125, 6);
  });
});

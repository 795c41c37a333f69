import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { replayAccesses as replay } from '../../../../processors/storage/replay.ts';
import { StorageModel, type DatasetState } from '../../../../processors/storage/model.ts';
import type { TieringDecision } from '../../../../schemas/generated/records.ts';
import { InMemoryStore } from '../../../../topology/stores/inMemoryStore.ts';
import { referenceDecisions } from '../../../helpers/storageReference.ts';
import { storageLog } from '../../../helpers/storageTraffic.ts';

const rules = DEFAULTS.storage;
const DAY = 86_400_000;
const start = Date.UTC(2026, 0, 1);

function run(log = storageLog(start, 140)) {
  const model = new StorageModel(new InMemoryStore<DatasetState>('d'), new InMemoryStore<number>('c'), rules);
  const decisions: TieringDecision[] = log.flatMap((a) => model.onAccess(a));
  return { model, decisions };
}

describe('storage model', () => {
  it('walks a dataset read daily, then silent, through HOT, WARM and COLD on event time', () => {
    const { decisions } = run();
    const a = decisions.filter((d) => d.dataset_id === 'A-daily-then-silent');
    expect(a.map((d) => [d.tier, (d.event_time - start) / DAY])).toEqual([
      ['HOT', 0.5],
      ['WARM', 67],
      ['COLD', 130],
    ]);
    expect(a.every((d) => d.format_advice === 'CONVERT_TO_PARQUET' && d.estimated_size_bytes === 50e6)).toBe(true);
    expect(a[2]?.monthly_saving_usd).toBeCloseTo((200e6 / 2 ** 30) * 0.023 - (50e6 / 2 ** 30) * 0.004, 4);
  });

  it('matches the brute-force reference decision for decision', () => {
    const { decisions } = run();
    const expected = referenceDecisions(storageLog(start, 140), rules);
    expect(decisions.map((d) => [d.dataset_id, d.event_time, d.tier, d.previous_tier, d.accesses_30d])).toEqual(
      expected.map((d) => [d.dataset_id, d.event_time, d.tier, d.previous_tier, d.accesses_30d]),
    );
    expect(new Set(decisions.map((d) => d.dataset_id)).size).toBe(6);
  });

  it('emits one decision per change and never two in a row with the same tier and advice', () => {
    const { decisions } = run();
    for (const id of new Set(decisions.map((d) => d.dataset_id))) {
      const own = decisions.filter((d) => d.dataset_id === id);
      for (let i = 1; i < own.length; i++) expect([own[i]!.tier, own[i]!.format_advice]).not.toEqual([own[i - 1]!.tier, own[i - 1]!.format_advice]);
    }
    expect(decisions.filter((d) => d.dataset_id === 'E-tiny').map((d) => d.tier)).toEqual(['HOT']);
    // Read every 8 days: HOT while new, then WARM for good, not HOT on each read.
    expect(decisions.filter((d) => d.dataset_id === 'C-every-8-days').map((d) => d.tier)).toEqual(['HOT', 'WARM']);
  });

  it('keeps at most 90 day buckets per dataset', () => {
    const { model } = run();
    const state = (model as unknown as { datasets: InMemoryStore<DatasetState> }).datasets.get('B-clock');
    expect(Object.keys(state?.days ?? {}).length).toBeLessThanOrEqual(90);
  });

  it('gives the same answers on demand (replay) as the stream', () => {
    const log = storageLog(start, 140);
    const { decisions } = run(log);
    const { model, lastEventTime } = replay([...log].reverse(), rules);
    for (const d of model.analyzeAll(lastEventTime)) {
      const lastStream = decisions.filter((s) => s.dataset_id === d.dataset_id).at(-1);
      expect(d.tier, d.dataset_id).toBe(lastStream?.tier);
      expect(d.format_advice).toBe(lastStream?.format_advice);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/options.ts';
import { buildLabel } from '../../../processors/feedback/join.ts';
import { StorageModel, type DatasetState } from '../../../processors/storage/model.ts';
import { EventGenerator } from '../../../simulate/generator.ts';
import { replayEvents } from '../../../app/replay.ts';
import { InMemoryStore } from '../../../topology/stores/inMemoryStore.ts';
import { storageLog } from '../../helpers/storageTraffic.ts';

const config = loadConfig({ env: {} });

describe('replay (backtesting without Kafka)', () => {
  it('produces the stream processors\' labels, tiering decisions and dead letters', () => {
    const g = new EventGenerator({ seed: 31, runId: 'replay' });
    const start = Date.UTC(2026, 0, 1);
    const jobs = Array.from({ length: 50 }, (_, i) => g.job(start + i * 60_000));
    const accesses = storageLog(start, 100);
    // Jobs and datasets apart: on one partition, job outcomes (hours after their dispatch)
    // would move the stream time the storage clock follows.
    const jobEvents = jobs.flatMap((j) => [
      { topic: 'job-dispatch', key: j.dispatch.job_id, value: j.dispatch },
      { topic: 'job-outcome', key: j.outcome.job_id, value: j.outcome },
    ]);
    const accessEvents = accesses.map((a) => ({ topic: 'dataset-access', key: a.dataset_id, value: a }));
    const events = [
      ...jobEvents,
      { topic: 'job-outcome', key: 'x', value: { ...jobs[0]!.outcome, cost_usd: -1 } },
      { topic: 'job-outcome', key: 'y', value: { not: 'an outcome' } },
      { topic: 'no-such-topic', key: 'z', value: {} },
    ];
    const out = replayEvents(events, config);
    const labels = out.filter((o) => o.topic === 'relevance-labels').map((o) => ('value' in o ? o.value : null));
    expect(labels).toEqual(jobs.map((j) => buildLabel(j.dispatch, j.outcome, config.feedback)).filter((l) => l !== null));
    const model = new StorageModel(new InMemoryStore<DatasetState>('d'), new InMemoryStore<number>('c'), config.storage);
    const tiering = accesses.flatMap((a) => model.onAccess(a));
    const replayedTiering = replayEvents(accessEvents, config).filter((o) => o.topic === 'tiering-decisions');
    expect(replayedTiering.map((o) => ('value' in o ? o.value : null))).toEqual(tiering);
    expect(tiering.length).toBeGreaterThan(5);
    expect(out.filter((o) => o.topic === 'dlq').map((o) => ('code' in o ? o.code : null))).toEqual(['INVALID_FIELD', 'SCHEMA_MISMATCH', 'UNKNOWN_SCHEMA']);
  });
});

import { describe, expect, it } from 'vitest';
import type { AdvisorModel } from '../../../../schemas/generated/records.ts';
import { latestPromoted, modelsToTombstone } from '../../../../processors/advisor/servingModel.ts';
import { loadConfig } from '../../../../config/options.ts';
import { offerKey } from '../../../../processors/cost/labelsByOffer.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { toInstanceOffer } from '../../../../simulate/generator.ts';
import { ltrJobs, ltrQueries } from '../../../../simulate/rankingData.ts';
import { replayEvents, type ReplayEvent } from '../../../../app/replay.ts';

const run = (sequence: number, promoted: boolean): AdvisorModel => ({ model_version: `ltr-${sequence}`, sequence, promoted, onnx: promoted ? Buffer.from([1]) : null }) as unknown as AdvisorModel;
const table = (...runs: AdvisorModel[]) => new Map(runs.map((r) => [r.model_version, r]));

describe('modelsToTombstone (advisor.keepModels)', () => {
  it('keeps the newest runs by sequence and tombstones rejected and superseded promoted ones beyond them', () => {
    const t = table(run(1, true), run(2, false), run(3, true), run(4, false), run(5, false), run(6, true), run(7, false));
    expect(modelsToTombstone(t, run(8, false), 5)).toEqual(['ltr-1', 'ltr-2', 'ltr-3']);
  });

  it('always keeps the promoted model that serves, however old', () => {
    const t = table(run(1, false), run(2, true), run(3, false), run(4, false), run(5, false), run(6, false));
    expect(modelsToTombstone(t, run(7, false), 3)).toEqual(['ltr-1', 'ltr-3', 'ltr-4']);
  });

  it('tombstones nothing while the topic holds no more than keepModels runs', () => {
    expect(modelsToTombstone(table(run(1, true), run(2, false)), run(3, false), 5)).toEqual([]);
  });

  it('a newly promoted run supersedes the old promoted one, which goes once it is beyond keepModels', () => {
    const t = table(run(1, true), run(2, false));
    expect(modelsToTombstone(t, run(3, true), 2)).toEqual(['ltr-1']);
  });
});

describe('the trainer on the stream tombstones what advisor.keepModels does not keep', () => {
  it('leaves keepModels runs plus the serving one after many runs, the serving model never tombstoned', () => {
    const T0 = Date.UTC(2026, 2, 1);
    const config = loadConfig({ env: {} });
    config.advisor.retrainEveryLabels = 20;
    config.advisor.retrainMinIntervalMs = 0;
    config.advisor.keepModels = 2;
    const events: ReplayEvent[] = [
      ...CATALOG.map((o) => toInstanceOffer(o, T0)).map((o) => ({ topic: 'instance-catalog', key: offerKey(o), value: o })),
      ...ltrJobs(ltrQueries(30, 8, 0), T0, 'keep').flatMap((j) => [
        { topic: 'job-dispatch', key: j.dispatch.job_id, value: j.dispatch },
        { topic: 'job-outcome', key: j.outcome.job_id, value: j.outcome },
      ]),
    ];
    const topic = new Map<string, AdvisorModel>();
    let tombstones = 0;
    for (const o of replayEvents(events, config)) {
      if (o.topic !== 'advisor-models' || !('value' in o)) continue;
      if (o.value === null) {
        // Only keys that exist, and never the model that serves at that moment.
        expect(topic.has(o.key)).toBe(true);
        expect(latestPromoted(topic)?.model_version).not.toBe(o.key);
        topic.delete(o.key);
        tombstones++;
      } else {
        // Between two runs (a run's tombstones follow it): at most keepModels plus the serving one.
        expect(topic.size).toBeLessThanOrEqual(config.advisor.keepModels + 1);
        topic.set(o.key, o.value as AdvisorModel);
      }
    }
    expect(tombstones).toBeGreaterThan(0);
  }, 60_000);
});

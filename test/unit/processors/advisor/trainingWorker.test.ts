/**
 * The training worker gives the run training in the thread gives: the same ONNX bytes, the
 * same verdict and held-out figures, for a first model and for one judged against a model in
 * service; and runs queued on it come back to their callers in order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../config/options.ts';
import { trainInThread, TrainingWorker, type TrainingInput } from '../../../../processors/advisor/ltr/trainingWorker.ts';
import type { TrainingDoc } from '../../../../processors/advisor/ltr/training.ts';
import { offerKey } from '../../../../processors/cost/labelsByOffer.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { toInstanceOffer } from '../../../../simulate/generator.ts';
import { ltrQueries, type LtrQuery } from '../../../../simulate/rankingData.ts';
import { trainerOptions } from '../../../../app/topology.ts';

const T0 = Date.UTC(2026, 2, 1);
const catalog = new Map(CATALOG.map((o) => toInstanceOffer(o, T0)).map((o) => [offerKey(o), o]));
const options = trainerOptions(loadConfig({ env: {} }).advisor);
const docsOf = (queries: readonly LtrQuery[]): TrainingDoc[] =>
  queries.flatMap((q) => q.offers.map((o, i) => ({ queryId: q.id, offerKey: offerKey(o), workload: q.workload, labelSum: q.labels[i] as number, runs: 1, costRuns: 1, successes: 1, successHoursSum: 1 + (i % 3) / 10 })));
const inputOf = (docs: TrainingDoc[], version: string, current: TrainingInput['current']): TrainingInput => ({
  docs,
  catalog,
  risks: new Map(),
  current,
  meta: { version, trainedAt: T0, labelsSeen: docs.length },
  options,
  scaling: new Map(),
});

const worker = new TrainingWorker();
afterAll(() => worker.close());

describe('the training worker', () => {
  it('trains byte for byte what the thread trains, first model and judged against one in service', { timeout: 60_000 }, async () => {
    const first = inputOf(docsOf(ltrQueries(60, 5, 0)), 'ltr-1', null);
    const here = await trainInThread(first);
    const there = await worker.train(first);
    expect(here.promoted).toBe(true);
    expect(Buffer.from(there.onnx).equals(Buffer.from(here.onnx))).toBe(true);
    expect(there.onnx.length).toBeGreaterThan(1000);
    const { model: _m1, onnx: _o1, ...restHere } = here;
    const { model: _m2, onnx: _o2, ...restThere } = there;
    expect(restThere).toEqual(restHere);
    expect(there.model).toEqual(here.model);

    const second = inputOf(docsOf(ltrQueries(70, 5, 1)), 'ltr-2', { version: 'ltr-1', model: here.model });
    const [a, b] = await Promise.all([worker.train(second), worker.train(first)]);
    const again = await trainInThread(second);
    expect(Buffer.from(a.onnx).equals(Buffer.from(again.onnx))).toBe(true);
    expect(a.baselineVersion).toBe('ltr-1');
    expect(a.reason).toBe(again.reason);
    expect(Buffer.from(b.onnx).equals(Buffer.from(here.onnx))).toBe(true);
  });
});

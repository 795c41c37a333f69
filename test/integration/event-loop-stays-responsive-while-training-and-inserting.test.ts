/**
 * Nothing heavy on the event loop: while a LambdaMART training run (the live service's worker)
 * and a 50,000-row insert into the embedded ClickHouse (the sink's way: rows streamed to the
 * engine's child process) happen together, the service's event loop stays responsive: p99 of
 * its delay (monitorEventLoopDelay, 1 ms resolution) under 50 ms. Only those two actions are
 * measured: the rows and the training documents are made before the measurement starts.
 *
 * For contrast (logged, not asserted), the same two actions the way they ran before: training in
 * the thread, and the rows encoded by @clickhouse/client as one array.
 *
 * On this shared 2-core box the other engineers' load adds delay the service does not cause;
 * the bar holds only on a machine not saturated by others. Opt-in with ARTENIC_LAG_TEST=1.
 *
 * Always on (`make test`), a check with a margin no load on this box comes near: training in the
 * worker leaves the loop free. The same run in the thread blocks the loop for its whole length
 * (0.6–1.4 s here); in the worker the loop's longest stall must stay under a quarter of that
 * (measured: 27–136 ms at loads of 8–17), and both must train the same model, byte for byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/options.ts';
import { createClickHouse, qualified, queryRows } from '../../infra/clickhouse/client.ts';
import { TABLE_OF_ROLE, toRow } from '../../infra/clickhouse/flatten.ts';
import { migrate } from '../../infra/clickhouse/migrate.ts';
import { rowStream } from '../../infra/clickhouse/rowStream.ts';
import { trainInThread, TrainingWorker, type TrainingInput } from '../../processors/advisor/ltr/trainingWorker.ts';
import type { TrainingDoc } from '../../processors/advisor/ltr/training.ts';
import { offerKey } from '../../processors/cost/labelsByOffer.ts';
import { CATALOG } from '../../simulate/catalog.ts';
import { EventGenerator, toInstanceOffer } from '../../simulate/generator.ts';
import { ltrQueries } from '../../simulate/rankingData.ts';
import { trainerOptions } from '../../app/topology.ts';

const ROWS = 50_000;
const BAR_MS = 50;
const T0 = Date.UTC(2026, 2, 1);

async function measured<T>(what: () => Promise<T>): Promise<{ result: T; p99: number; max: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // The histogram's timer starts on the loop's next turn: a block before that would go unseen.
  await new Promise((r) => setTimeout(r, 5));
  const started = performance.now();
  const result = await what();
  const ms = performance.now() - started;
  // The histogram's timer records a stall when it fires after it: give it that turn.
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  return { result, p99: h.percentile(99) / 1e6, max: h.max / 1e6, ms };
}

function trainingInput(config: ReturnType<typeof loadConfig>): TrainingInput {
  const catalog = new Map(CATALOG.map((o) => toInstanceOffer(o, T0)).map((o) => [offerKey(o), o]));
  const docs: TrainingDoc[] = ltrQueries(240, 5, 3).flatMap((q) => q.offers.map((o, i) => ({ queryId: q.id, offerKey: offerKey(o), workload: q.workload, labelSum: q.labels[i] as number, runs: 1 })));
  return { docs, catalog, risks: new Map(), current: null, meta: { version: 'ltr-1', trainedAt: T0, labelsSeen: docs.length }, options: trainerOptions(config.advisor), scaling: new Map() };
}

describe('training in the worker', () => {
  const worker = new TrainingWorker();
  afterAll(() => worker.close());

  it('leaves the event loop free: its longest stall is under a quarter of what the same run blocks in the thread', { timeout: 120_000 }, async () => {
    const input = trainingInput(loadConfig({ env: {} }));
    const inWorker = await measured(() => worker.train(input));
    const inThread = await measured(() => Promise.resolve().then(() => trainInThread(input)));
    console.log(`training ${input.docs.length} docs: in the worker, loop stall max ${inWorker.max.toFixed(1)} ms (${inWorker.ms.toFixed(0)} ms); in the thread, max ${inThread.max.toFixed(1)} ms (${inThread.ms.toFixed(0)} ms); load ${loadavg()[0]?.toFixed(1)}`);
    expect(Buffer.from(inWorker.result.onnx).equals(Buffer.from(inThread.result.onnx))).toBe(true);
    // The measurement sees a blocked loop when there is one...
    expect(inThread.max).toBeGreaterThan(0.5 * inThread.ms);
    // ...and the worker's run does not block it.
    expect(inWorker.max).toBeLessThan(inThread.max / 4);
  });
});

describe.skipIf(!process.env.ARTENIC_LAG_TEST)('event loop while training and inserting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lag-'));
  const config = loadConfig({ env: {} });
  const clickhouse = createClickHouse({ ...config.clickhouse, dataDir: dir });
  const db = config.clickhouse.database;
  const worker = new TrainingWorker();
  afterAll(async () => {
    await worker.close();
    await clickhouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`stays under ${BAR_MS} ms (p99) during a training run and a ${ROWS}-row insert`, { timeout: 300_000 }, async () => {
    await migrate(clickhouse, db);
    const g = new EventGenerator({ seed: 7, runId: 'lag' });
    const rowsOf = (from: number) => Array.from({ length: ROWS }, (_, i) => toRow('job-dispatch', g.job(T0 + (from + i) * 1_000).dispatch as unknown as Record<string, unknown>, { topic: 'job-dispatch', partition: 0, offset: String(from + i) }));
    const input = trainingInput(config);
    const docs = input.docs;
    const table = qualified(db, TABLE_OF_ROLE('job-dispatch'));

    // The box itself: the same measurement while the loop has nothing to do.
    const idle = await measured(() => new Promise((r) => setTimeout(r, 3_000)));
    // Each alone, then both: the service's way. The worker starts cold, as at a service's first run.
    const trainingAlone = await measured(() => worker.train(input));
    const alone = rowsOf(2 * ROWS);
    const insertAlone = await measured(() => clickhouse.insert({ table, values: rowStream(alone), format: 'JSONEachRow' }));
    const rows = rowsOf(0);
    const off = await measured(() => Promise.all([worker.train(input), clickhouse.insert({ table, values: rowStream(rows), format: 'JSONEachRow' })]));
    // Before: training in the thread, the rows encoded as one array.
    const before = rowsOf(ROWS);
    const on = await measured(() => Promise.all([Promise.resolve().then(() => trainInThread(input)), clickhouse.insert({ table, values: before, format: 'JSONEachRow' })]));

    const [{ n }] = (await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${table}`)) as [{ n: string }];
    expect(Number(n)).toBe(3 * ROWS);
    expect(Buffer.from(off.result[0].onnx).equals(Buffer.from(on.result[0].onnx))).toBe(true);
    const f = (x: number) => x.toFixed(1);
    const line = (what: string, m: { p99: number; max: number; ms: number }) => `${what}: p99 ${f(m.p99)} ms, max ${f(m.max)} ms (${f(m.ms)} ms in all)`;
    console.log(
      [
        `event loop delay, ${docs.length} training docs, ${ROWS} rows (load: ${loadavg().map((l) => l.toFixed(1)).join(' ')})`,
        line('idle', idle),
        line('training in the worker alone', trainingAlone),
        line('insert alone', insertAlone),
        line('both, off the loop', off),
        line('both, as before (training in the thread, rows as one array)', on),
      ].join('\n'),
    );
    expect(off.p99).toBeLessThan(BAR_MS);
  });
});

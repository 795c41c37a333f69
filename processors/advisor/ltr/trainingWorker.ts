/**
 * Training runs (`trainAndEvaluate`) in a worker thread, so that a run (0.6–6 s) is off the
 * service's event loop: fetches, heartbeats, commits and the HTTP endpoints go on meanwhile.
 * One persistent worker, started on the first run and kept (it holds the process open only
 * while a run is in flight); runs are queued in order.
 *
 * The worker runs the same pure code on a copy of the same inputs (structured clone), so its
 * model and ONNX bytes are the ones training in the thread gives (a unit test checks the bytes).
 * Only the live service trains here: a replay trains in the thread, one record after another,
 * so that its output is a function of its input alone.
 */
import { Worker } from 'node:worker_threads';
import type { TrainingRun } from './training.ts';
import { trainAndEvaluate } from './training.ts';

/** `trainAndEvaluate`'s arguments, as one message. */
export interface TrainingInput {
  docs: Parameters<typeof trainAndEvaluate>[0];
  catalog: Parameters<typeof trainAndEvaluate>[1];
  risks: Parameters<typeof trainAndEvaluate>[2];
  current: Parameters<typeof trainAndEvaluate>[3];
  meta: Parameters<typeof trainAndEvaluate>[4];
  options: Parameters<typeof trainAndEvaluate>[5];
  scaling: NonNullable<Parameters<typeof trainAndEvaluate>[6]>;
}

/** A trainer: in the thread (replay, `retrain`) or in the worker (the live service). */
export type Trainer = (input: TrainingInput) => TrainingRun | Promise<TrainingRun>;

export const trainInThread: Trainer = (i) => trainAndEvaluate(i.docs, i.catalog, i.risks, i.current, i.meta, i.options, i.scaling);

export type WorkerRequest = { id: number; input: TrainingInput };
export type WorkerReply = { id: number; run: TrainingRun } | { id: number; error: { message: string; stack?: string } };

const BOOT = new URL('./trainingWorkerBoot.mjs', import.meta.url);

/** The persistent training worker; `train` is a Trainer. */
export class TrainingWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(run: TrainingRun): void; reject(err: Error): void }>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(BOOT);
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('run' in reply) p.resolve(reply.run);
      else p.reject(Object.assign(new Error(`training worker: ${reply.error.message}`), { stack: reply.error.stack }));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`training worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Trains in the worker; resolves with the run as `trainAndEvaluate` returns it. */
  train = (input: TrainingInput): Promise<TrainingRun> => {
    const worker = this.start();
    const id = this.nextId++;
    const run = new Promise<TrainingRun>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.ref();
    worker.postMessage({ id, input } satisfies WorkerRequest);
    return run;
  };

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}

/**
 * A processor may return a promise where its work leaves the thread (training in a worker):
 * the task awaits it before its next processor, processRecords before the next record, so the
 * emissions come out in the order a synchronous run gives; a synchronous run refuses it.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { InputRecord, Processor } from '../../../topology/processor.ts';
import { StreamTask } from '../../../topology/task.ts';
import { processRecords } from '../../../topology/operators/processRecords.ts';
import type { Decoded } from '../../../topology/operators/decodeRecords.ts';

const record = (n: number): InputRecord => ({ role: 'job-outcome', source: 'job-outcome', key: String(n), value: { n } as never, eventTime: n, topic: 'job-outcome', partition: 0, offset: String(n) });

function processors(slowEvery: number): Processor[] {
  const emit = (tag: string) => (r: InputRecord, ctx: Parameters<Processor['process']>[1]) => ctx.forward('cost-anomalies', `${tag}${r.key}`, {} as never);
  return [
    {
      name: 'first',
      inputs: ['job-outcome'],
      stores: [],
      process(r, ctx) {
        const n = Number(r.key);
        if (n % slowEvery !== 0) return emit('a')(r, ctx);
        // Off the thread for a while: later records must wait.
        return new Promise<void>((resolve) => setTimeout(resolve, 20)).then(() => emit('a')(r, ctx));
      },
    },
    { name: 'second', inputs: ['job-outcome'], stores: [], process: emit('b') },
  ];
}

describe('asynchronous processing', () => {
  it('keeps the order of a synchronous run', async () => {
    const task = new StreamTask(0, processors(3), { graceMs: 0, punctuateIntervalMs: 1_000 });
    const decoded: Decoded[] = [1, 2, 3, 4, 5, 6, 7].map((n) => ({ ok: true, record: record(n) }) as Decoded);
    const out = await lastValueFrom(from(decoded).pipe(processRecords(task), toArray()));
    expect(out.map((e) => (e.kind === 'record' ? e.key : e.kind))).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4', 'a5', 'b5', 'a6', 'b6', 'a7', 'b7']);
    expect(task.streamTime).toBe(7);
  });

  it('a synchronous run (a replay) refuses a processor that goes asynchronous', () => {
    const task = new StreamTask(0, processors(1), { graceMs: 0, punctuateIntervalMs: 1_000 });
    expect(() => task.process(record(1))).toThrow(/asynchronous in a synchronous run/);
  });
});

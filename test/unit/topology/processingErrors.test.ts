/**
 * Kafka Streams' processing-exception handler (KIP-1033): a processor that throws on one
 * record sends that record to the DLQ as PROCESSING_ERROR, with the message and the original
 * bytes, and the task goes on; `processingErrors: 'fail'` throws as before.
 */
import { describe, expect, it } from 'vitest';
import { DeadLetterError } from '../../../common/errors.ts';
import type { InputRecord, Processor } from '../../../topology/processor.ts';
import { StreamTask, type RawRecord } from '../../../topology/task.ts';

const record = (jobId: string, offset: number): InputRecord =>
  ({ role: 'job-outcome', source: 'job-outcome', key: jobId, value: { job_id: jobId, event_time: 1_000 + offset } as never, eventTime: 1_000 + offset, topic: 'outcomes', partition: 2, offset: String(offset) }) as InputRecord;

const raw = (offset: number): RawRecord => ({ key: Buffer.from(`k${offset}`), value: Buffer.from([0, 0, 0, 0, 7, offset]), timestamp: 5, schemaId: 7 });

/** Counts records into its store and forwards each; throws on `poison` after a forward. */
function counting(name: string, poison: string | null, thrown: () => Error = () => new Error(`cannot handle ${poison}`)): Processor {
  return {
    name,
    inputs: ['job-outcome'],
    stores: [{ name: `${name}-seen` }] as never,
    process(r, ctx) {
      ctx.forward('relevance-labels', r.key ?? '', { job_id: r.key, by: name } as never);
      if (r.key === poison) throw thrown();
      const store = ctx.getStateStore<number>(`${name}-seen`);
      store.put('n', (store.get('n') ?? 0) + 1);
    },
  };
}

describe('processing errors', () => {
  it('dead-letters the record a processor threw on, with its bytes, and keeps the other processors\' outputs', () => {
    const seen: string[] = [];
    const task = new StreamTask(2, [counting('a', 'job-2'), counting('b', null)], { graceMs: 0, punctuateIntervalMs: 1_000, onProcessingError: (p) => seen.push(p) });
    task.init();
    const out = [1, 2, 3].flatMap((i) => task.process(record(`job-${i}`, i), raw(i)));
    const letters = out.filter((e) => e.kind === 'dead-letter');
    expect(letters).toEqual([
      {
        kind: 'dead-letter',
        code: 'PROCESSING_ERROR',
        reason: 'processor a threw: cannot handle job-2',
        processor: 'a',
        key: 'job-2',
        raw: raw(2),
        source: { topic: 'outcomes', partition: 2, offset: '2' },
      },
    ]);
    // a's forward for job-2 is gone; b's stays; 5 records out of 3 inputs × 2 processors - 1.
    const labels = out.filter((e) => e.kind === 'record').map((e) => `${(e as unknown as { value: { by: string } }).value.by}:${(e as unknown as { key: string }).key}`);
    expect(labels).toEqual(['a:job-1', 'b:job-1', 'b:job-2', 'a:job-3', 'b:job-3']);
    expect(seen).toEqual(['a']);
    expect(task.stores.get('a-seen')?.store.get('n')).toBe(2);
    expect(task.stores.get('b-seen')?.store.get('n')).toBe(3);
  });

  it('re-encodes the decoded record when its bytes are not known (replay)', () => {
    const task = new StreamTask(0, [counting('a', 'job-1')], { graceMs: 0, punctuateIntervalMs: 1_000 });
    task.init();
    const [letter] = task.process(record('job-1', 1)).filter((e) => e.kind === 'dead-letter');
    expect(letter).toMatchObject({ code: 'PROCESSING_ERROR', record: { role: 'job-outcome', eventTime: 1_001 } });
  });

  it('fails the batch under processingErrors=fail', () => {
    const task = new StreamTask(0, [counting('a', 'job-1')], { graceMs: 0, punctuateIntervalMs: 1_000, processingErrors: 'fail' });
    task.init();
    expect(() => task.process(record('job-1', 1), raw(1))).toThrow('cannot handle job-1');
  });

  it('a DeadLetterError is the record\'s fault: its own code, under either policy, and not reported as a processing error', () => {
    const seen: string[] = [];
    const task = new StreamTask(0, [counting('a', 'job-1', () => new DeadLetterError('INVALID_FIELD', 'bad field'))], {
      graceMs: 0,
      punctuateIntervalMs: 1_000,
      processingErrors: 'fail',
      onProcessingError: (p) => seen.push(p),
    });
    task.init();
    const [letter] = task.process(record('job-1', 1), raw(1)).filter((e) => e.kind === 'dead-letter');
    expect(letter).toMatchObject({ code: 'INVALID_FIELD', reason: 'processor a threw: bad field' });
    expect(seen).toEqual([]);
  });
});

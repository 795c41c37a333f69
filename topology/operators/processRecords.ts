import { concatMap, from, type Observable, type OperatorFunction } from 'rxjs';
import type { Emission } from '../processor.ts';
import type { RuntimeEmission } from '../mispartitioned.ts';
import type { StreamTask } from '../task.ts';
import type { Decoded } from './decodeRecords.ts';

/**
 * Runs each decoded record through the task's processors and flattens what they emit.
 * Dead letters from decoding, and [partitioner] records rerouted to their key's partition,
 * pass straight through; skipped records (tombstones) are counted; a record a processor
 * throws on becomes a dead letter (with its original bytes) unless the task's policy is
 * `fail` (StreamTask.process). One record at a time, in offset order: a record whose
 * processing is asynchronous (training in a worker) is awaited before the next one starts,
 * so state is only touched by one record at a time.
 *
 * @example from(messages).pipe(decodeRecords(options), processRecords(task), toArray())
 * @see decodeRecords
 */
export function processRecords(task: StreamTask): OperatorFunction<Decoded, RuntimeEmission> {
  return concatMap((decoded): RuntimeEmission[] | Observable<Emission> => {
    if (decoded.ok) {
      const out = task.processAsync(decoded.record, decoded.raw);
      // [loop] An array is emitted at once; a promise of one, flattened when it settles.
      return out instanceof Promise ? from(out).pipe(concatMap((emissions) => emissions)) : out;
    }
    if (decoded.deadLetter) return [decoded.deadLetter];
    // [partitioner]
    if ('reroute' in decoded) return [decoded.reroute];
    task.count(decoded.skipped, 1);
    return [];
  });
}

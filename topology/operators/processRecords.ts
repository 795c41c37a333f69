import { mergeMap, type OperatorFunction } from 'rxjs';
import type { Emission } from '../processor.ts';
import type { StreamTask } from '../task.ts';
import type { Decoded } from './decodeRecords.ts';

/**
 * Runs each decoded record through the task's processors and flattens what they emit.
 * Dead letters from decoding pass straight through; skipped records (tombstones) are
 * counted; a record a processor throws on becomes a dead letter (with its original bytes)
 * unless the task's policy is `fail` (StreamTask.process). Synchronous per record: state is only
 * touched by one record at a time, in offset order.
 *
 * @example from(messages).pipe(decodeRecords(options), processRecords(task), toArray())
 * @see decodeRecords
 */
export function processRecords(task: StreamTask): OperatorFunction<Decoded, Emission> {
  return mergeMap((decoded) => {
    if (decoded.ok) return task.process(decoded.record, decoded.raw);
    if (decoded.deadLetter) return [decoded.deadLetter];
    task.count(decoded.skipped, 1);
    return [];
  });
}

import { mergeMap, type OperatorFunction } from 'rxjs';
import type { RuntimeEmission } from '../mispartitioned.ts';
import type { StreamTask } from '../task.ts';
import type { Decoded } from './decodeRecords.ts';

/**
 * Runs each decoded record through the task's processors and flattens what they emit.
 * Dead letters from decoding, and records rerouted to their key's partition, pass straight
 * through. Synchronous per record: state is only touched by one record at a time, in offset
 * order.
 *
 * @example from(messages).pipe(decodeRecords(options), processRecords(task), toArray())
 * @see decodeRecords
 */
export function processRecords(task: StreamTask): OperatorFunction<Decoded, RuntimeEmission> {
  return mergeMap((decoded): RuntimeEmission[] => (decoded.ok ? task.process(decoded.record) : ['reroute' in decoded ? decoded.reroute : decoded.deadLetter]));
}

import { concatMap, type OperatorFunction } from 'rxjs';
import type { KafkaMessage } from 'kafkajs';
import type { InternalRecord, TopicRole } from '../../schemas/catalog.ts';
import type { EventTimeBounds } from '../../schemas/validate.ts';
import { DeadLetterError } from '../../common/errors.ts';
import type { Emission, InputRecord } from '../processor.ts';
import type { MispartitionVerdict, RerouteEmission } from '../mispartitioned.ts';
import type { TopicSerde } from '../serde.ts';

export interface SourceMessage {
  role: TopicRole;
  /** The input role, or the repartition name. */
  source: string;
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** Set when the topic carries an internal record (a projected repartition): decoded as that, not validated again. */
  internal?: InternalRecord;
}

export type Decoded =
  | { ok: true; record: InputRecord }
  | { ok: false; deadLetter: Extract<Emission, { kind: 'dead-letter' }> }
  | { ok: false; reroute: RerouteEmission };

export interface DecodeOptions {
  serde: TopicSerde;
  /** Accepted event-time range, computed once per batch. */
  bounds: EventTimeBounds;
  maxRecordBytes: number;
  /** [partitioner] A record on the wrong partition for its key is not decoded: rerouted or dead-lettered instead. */
  mispartitioned?: (message: KafkaMessage, topic: string, partition: number) => MispartitionVerdict | null;
}

/**
 * Decodes and validates each message, in order. A record at fault becomes a dead letter
 * carrying its original bytes; an infrastructure failure (registry unreachable) errors
 * the stream, so the batch is retried rather than dead-lettered.
 *
 * @example from(messages).pipe(decodeRecords(options), processRecords(task))
 * @see processRecords
 */
export function decodeRecords(options: DecodeOptions): OperatorFunction<SourceMessage, Decoded> {
  return concatMap(async ({ role, source, topic, partition, message, internal }): Promise<Decoded> => {
    // [partitioner]
    const misplaced = options.mispartitioned?.(message, topic, partition);
    if (misplaced) return misplaced.kind === 'reroute' ? { ok: false, reroute: misplaced } : { ok: false, deadLetter: misplaced };
    const value = message.value;
    const schemaId = value && value.length >= 5 && value[0] === 0 ? value.readInt32BE(1) : null;
    const deadLetter = (err: DeadLetterError): Decoded => ({
      ok: false,
      deadLetter: {
        kind: 'dead-letter',
        code: err.code,
        reason: err.message,
        processor: 'decode',
        key: message.key ? message.key.toString('utf8') : null,
        raw: { key: message.key ?? null, value: value ?? null, timestamp: Number(message.timestamp), schemaId },
        source: { topic, partition, offset: message.offset },
      },
    });
    if (value && value.length > options.maxRecordBytes) {
      return deadLetter(new DeadLetterError('RECORD_TOO_LARGE', `value of ${value.length} bytes exceeds validation.maxRecordBytes (${options.maxRecordBytes})`));
    }
    try {
      // An internal record (a projected repartition) is handed to its processor as it is.
      const decoded = internal ? ((await options.serde.decodeInternal(internal, value)) as unknown as InputRecord['value']) : await options.serde.decode(role, value, options.bounds);
      return {
        ok: true,
        record: {
          role,
          source,
          key: message.key ? message.key.toString('utf8') : null,
          value: decoded,
          eventTime: decoded.event_time,
          topic,
          partition,
          offset: message.offset,
        },
      };
    } catch (err) {
      if (err instanceof DeadLetterError) return deadLetter(err);
      throw err;
    }
  });
}

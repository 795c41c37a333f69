import { concatMap, type OperatorFunction } from 'rxjs';
import type { KafkaMessage } from 'kafkajs';
import type { TopicRole } from '../../schemas/catalog.ts';
import type { EventTimeBounds } from '../../schemas/validate.ts';
import { DeadLetterError } from '../../common/errors.ts';
import type { Emission, InputRecord } from '../processor.ts';
import type { TopicSerde } from '../serde.ts';
import type { RawRecord } from '../task.ts';

export interface SourceMessage {
  role: TopicRole;
  /** The input role, or the repartition name. */
  source: string;
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/** A decoded record with its original bytes (for a dead letter, should a processor throw on it), or the dead letter it became. */
export type Decoded = { ok: true; record: InputRecord; raw: RawRecord } | { ok: false; deadLetter: Extract<Emission, { kind: 'dead-letter' }> };

export interface DecodeOptions {
  serde: TopicSerde;
  /** Accepted event-time range, computed once per batch. */
  bounds: EventTimeBounds;
  maxRecordBytes: number;
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
  return concatMap(async ({ role, source, topic, partition, message }): Promise<Decoded> => {
    const value = message.value;
    const schemaId = value && value.length >= 5 && value[0] === 0 ? value.readInt32BE(1) : null;
    const raw: RawRecord = { key: message.key ?? null, value: value ?? null, timestamp: Number(message.timestamp), schemaId };
    const deadLetter = (err: DeadLetterError): Decoded => ({
      ok: false,
      deadLetter: {
        kind: 'dead-letter',
        code: err.code,
        reason: err.message,
        processor: 'decode',
        key: message.key ? message.key.toString('utf8') : null,
        raw,
        source: { topic, partition, offset: message.offset },
      },
    });
    if (value && value.length > options.maxRecordBytes) {
      return deadLetter(new DeadLetterError('RECORD_TOO_LARGE', `value of ${value.length} bytes exceeds validation.maxRecordBytes (${options.maxRecordBytes})`));
    }
    try {
      const decoded = await options.serde.decode(role, value, options.bounds);
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
        raw,
      };
    } catch (err) {
      if (err instanceof DeadLetterError) return deadLetter(err);
      throw err;
    }
  });
}

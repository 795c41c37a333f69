import { concatMap, type OperatorFunction } from 'rxjs';
import type { KafkaMessage } from 'kafkajs';
import { INPUT_KEY_FIELDS, type InputTopic, type InternalRecord, type TopicRole } from '../../schemas/catalog.ts';
import type { EventTimeBounds } from '../../schemas/validate.ts';
import { DeadLetterError } from '../../common/errors.ts';
import type { Emission, InputRecord } from '../processor.ts';
import type { MispartitionVerdict, RerouteEmission } from '../mispartitioned.ts';
import { TopicSerde } from '../serde.ts';
import type { RawRecord } from '../task.ts';

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

/**
 * What became of one message: a record for the processors with its original bytes (for a
 * dead letter, should a processor throw on it), a dead letter, skipped (a tombstone on an
 * input: counted as `what`, neither processed nor dead-lettered), or [partitioner] a record
 * on the wrong partition for its key, to reroute undecoded.
 */
export type Decoded =
  | { ok: true; record: InputRecord; raw: RawRecord }
  | { ok: false; deadLetter: Extract<Emission, { kind: 'dead-letter' }> }
  | { ok: false; skipped: string; deadLetter?: undefined }
  | { ok: false; reroute: RerouteEmission; deadLetter?: undefined };

export interface DecodeOptions {
  serde: TopicSerde;
  /** Accepted event-time range, computed once per batch. */
  bounds: EventTimeBounds;
  maxRecordBytes: number;
  /** [partitioner] A record on the wrong partition for its key is not decoded: rerouted or dead-lettered instead. */
  mispartitioned?: (message: KafkaMessage, topic: string, partition: number) => MispartitionVerdict | null;
}

/** The metric event a skipped tombstone counts under. */
export const TOMBSTONES_SKIPPED = 'tombstones_skipped';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The key as a string, or a DeadLetterError when its bytes are not UTF-8. */
function keyOf(key: Buffer | null | undefined): string | null | DeadLetterError {
  if (!key) return null;
  try {
    return utf8.decode(key);
  } catch {
    return new DeadLetterError('BAD_KEY', `key of ${key.length} bytes is not UTF-8 (keys are the UTF-8 strings of the Topics table)`);
  }
}

/** Checks a decoded input's key against the field it must equal (INPUT_KEY_FIELDS). */
function keyViolation(role: TopicRole, key: string | null, value: unknown): DeadLetterError | null {
  const field = INPUT_KEY_FIELDS[role as InputTopic];
  if (!field) return null;
  const expected = (value as Record<string, unknown>)[field];
  if (key === null) return new DeadLetterError('MISSING_KEY', `${role} records are keyed by ${field} (${String(expected)}); this one has no key, so it may sit on another partition than its partner`);
  if (key !== expected) return new DeadLetterError('KEY_MISMATCH', `${role} records are keyed by ${field}: key ${JSON.stringify(key.slice(0, 200))} is not ${field} ${JSON.stringify(String(expected).slice(0, 200))}`);
  return null;
}

/**
 * Decodes and validates one message whose writer schema is cached, synchronously. A
 * record at fault becomes a dead letter carrying its original bytes. Records read from
 * this service's own repartition topics (`source` differs from `role`) were validated
 * before they were written: they are only decoded.
 */
export function decodeMessage({ role, source, topic, partition, message, internal }: SourceMessage, options: DecodeOptions): Decoded {
  const value = message.value;
  const own = source !== role;
  const key = own ? (message.key ? message.key.toString('utf8') : null) : keyOf(message.key);
  const deadLetter = (err: DeadLetterError): Decoded => deadLetterOf({ topic, partition, message }, err);
  // A tombstone deletes a key of a compacted topic; on an input it carries nothing to process.
  if (value === null || value === undefined) return { ok: false, skipped: TOMBSTONES_SKIPPED };
  if (key instanceof DeadLetterError) return deadLetter(key);
  if (value.length > options.maxRecordBytes) {
    return deadLetter(new DeadLetterError('RECORD_TOO_LARGE', `value of ${value.length} bytes exceeds validation.maxRecordBytes (${options.maxRecordBytes})`));
  }
  try {
    // [partitioner] An internal record (a projected repartition) is handed to its processor as it is.
    const decoded = internal
      ? (options.serde.decodeInternalSync(internal, value) as unknown as InputRecord['value'])
      : options.serde.decodeSync(role, value, options.bounds, { validate: !own });
    if (!own) {
      const bad = keyViolation(role, key, decoded);
      if (bad) return deadLetter(bad);
    }
    return {
      ok: true,
      record: { role, source, key, value: decoded, eventTime: decoded.event_time, topic, partition, offset: message.offset },
      raw: { key: message.key ?? null, value, timestamp: Number(message.timestamp), schemaId: TopicSerde.schemaIdOf(value) },
    };
  } catch (err) {
    if (err instanceof DeadLetterError) return deadLetter(err);
    throw err;
  }
}

/**
 * Decodes and validates each message, in order. Synchronous per record once its writer
 * schema is cached (no promise per record); a message whose schema is not cached waits for
 * the registry first. A record at fault becomes a dead letter carrying its original bytes;
 * an infrastructure failure (registry unreachable) errors the stream, so the batch is
 * retried rather than dead-lettered.
 *
 * @example from(messages).pipe(decodeRecords(options), processRecords(task))
 * @see processRecords
 */
export function decodeRecords(options: DecodeOptions): OperatorFunction<SourceMessage, Decoded> {
  // An array is an ObservableInput that emits synchronously: no promise for a cached schema.
  return concatMap((m: SourceMessage): Decoded[] | Promise<Decoded> => {
    // [partitioner] A record on the wrong partition for its key is neither decoded nor processed here.
    const misplaced = options.mispartitioned?.(m.message, m.topic, m.partition);
    if (misplaced) return [misplaced.kind === 'reroute' ? { ok: false, reroute: misplaced } : { ok: false, deadLetter: misplaced }];
    const value = m.message.value;
    // Too large: dead-lettered without looking at it, registry or not.
    if (!value || value.length > options.maxRecordBytes || options.serde.hasWriterSchema(value)) return [decodeMessage(m, options)];
    return options.serde.loadWriterSchema(value).then(
      () => decodeMessage(m, options),
      (err: unknown) => {
        if (err instanceof DeadLetterError) return deadLetterOf(m, err);
        throw err;
      },
    );
  });
}

function deadLetterOf({ topic, partition, message }: Pick<SourceMessage, 'topic' | 'partition' | 'message'>, err: DeadLetterError): Decoded {
  const key = keyOf(message.key);
  return {
    ok: false,
    deadLetter: {
      kind: 'dead-letter',
      code: err.code,
      reason: err.message,
      processor: 'decode',
      key: typeof key === 'string' ? key : null,
      raw: { key: message.key ?? null, value: message.value ?? null, timestamp: Number(message.timestamp), schemaId: TopicSerde.schemaIdOf(message.value) },
      source: { topic, partition, offset: message.offset },
    },
  };
}

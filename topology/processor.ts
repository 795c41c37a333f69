/**
 * The processor API, in Kafka Streams' nouns. A Processor declares its input topics and
 * its stores; the runtime calls `init` once per task (partition), `process` for each
 * decoded record in offset order, and `punctuate` as stream time advances.
 * Lifecycle: init -> (process | punctuate)* -> close. Nothing here knows kafkajs.
 */
import type { InputTopic, InternalRecord, OutputTopic, TopicRole } from '../schemas/catalog.ts';
import type { InternalRecords, TopicRecords } from '../schemas/generated/records.ts';
import type { ErrorCode } from '../common/errors.ts';
import type { KeyValueStore, StoreSpec } from './stores/index.ts';

/** A decoded, validated input record. Immutable. */
export interface InputRecord<R extends TopicRole = TopicRole> {
  readonly role: R;
  /** Where it came from: the input role, or the name of a repartition. */
  readonly source: string;
  readonly key: string | null;
  readonly value: TopicRecords[R];
  /** The record's own event time (its `event_time` field). */
  readonly eventTime: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** What a processor emits; the runtime encodes and produces it inside the task's transaction. */
export type Emission =
  | { kind: 'record'; role: OutputTopic; key: string; value: TopicRecords[OutputTopic] }
  /** A null value for a key of a compacted output topic: compaction deletes the key. */
  | { kind: 'tombstone'; role: OutputTopic; key: string }
  | {
      kind: 'dead-letter';
      code: ErrorCode;
      reason: string;
      processor: string;
      key: string | null;
      /** A record that left a store: re-encoded with its topic's current schema, so it can be replayed. */
      record?: { role: TopicRole; value: TopicRecords[TopicRole]; eventTime: number };
      /** A record that could not be decoded: its original bytes. */
      raw?: { key: Buffer | null; value: Buffer | null; timestamp: number; schemaId: number | null };
      /** Where the record came from, when it is known. */
      source?: { topic: string; partition: number; offset: string };
    };

export interface ProcessorContext {
  readonly partition: number;
  /** The largest event time this task has seen. */
  readonly streamTime: number;
  readonly graceMs: number;
  forward<R extends OutputTopic>(role: R, key: string, value: TopicRecords[R]): void;
  /** Deletes a key of a compacted output topic (Kafka Streams' forward with a null value). Throws for a topic that is not compacted. */
  tombstone(role: OutputTopic, key: string): void;
  deadLetter(letter: Omit<Extract<Emission, { kind: 'dead-letter' }>, 'kind' | 'processor'>): void;
  getStateStore<V>(name: string): KeyValueStore<V>;
  /** A global table (the whole of a topic, on every instance), by topic role. */
  getGlobalTable<R extends TopicRole>(role: R): ReadonlyMap<string, TopicRecords[R]>;
  /** Counts something worth a metric (duplicates dropped, entries expired). */
  count(what: string, n?: number): void;
}

/**
 * Kafka Streams' selectKey + repartition: every record the topology emits on `from` is
 * also written, under the key `key(value)`, to `<applicationId>-<name>-repartition`, which
 * the declaring processor reads. Records that share a new key then meet on one partition,
 * next to the input topics keyed the same way (the catalog, for instance).
 */
export interface Repartition<R extends OutputTopic = OutputTopic> {
  readonly name: string;
  readonly from: R;
  key(value: TopicRecords[R]): string;
  /** Only records it accepts are repartitioned (all when absent): Kafka Streams' filter before the repartition. */
  accepts?(value: TopicRecords[R]): boolean;
  /**
   * What is written instead of the whole record (Kafka Streams' mapValues before the
   * repartition): an internal record, which the declaring processor then receives as the
   * value of its InputRecord. The whole record when absent.
   */
  readonly projection?: Projection<R>;
}

export interface Projection<R extends OutputTopic = OutputTopic, N extends InternalRecord = InternalRecord> {
  readonly record: N;
  project(value: TopicRecords[R]): InternalRecords[N];
}

/** `<applicationId>-<name>-repartition`, as Kafka Streams names it. */
export function repartitionTopic(applicationId: string, name: string): string {
  return `${applicationId}-${name}-repartition`;
}

export interface Processor {
  readonly name: string;
  readonly inputs: readonly InputTopic[];
  /** Topics this processor looks up as global tables (read whole on every instance). */
  readonly globalTables?: readonly TopicRole[];
  /** Repartitions this processor reads (declared here, produced by the runtime). */
  readonly repartitions?: readonly Repartition[];
  readonly stores: readonly StoreSpec[];
  init?(ctx: ProcessorContext): void;
  /**
   * [loop] Returns a promise only where work leaves the thread (the trainer's training run, in
   * a worker): the runtime awaits it before the task's next record, so order is unchanged.
   */
  process(record: InputRecord, ctx: ProcessorContext): void | Promise<void>;
  /** Stream-time punctuation: called after each batch with the task's stream time. */
  punctuate?(streamTime: number, ctx: ProcessorContext): void;
  close?(): void;
}

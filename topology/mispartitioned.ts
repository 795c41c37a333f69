/**
 * Records on the wrong partition for their key. Inputs joined by key (a dispatch and its
 * outcome, an offer and its labels) meet only when every producer puts a key on the same
 * partition. This service and Java / kafkajs producers use murmur2; librdkafka-based
 * clients (Python, Go, .NET) hash keys with CRC32 by default, so their records land
 * elsewhere and would wait unjoined until their timeout.
 *
 * A fetched record whose key does not belong, under murmur2, to the partition it arrived
 * on is, by `streams.mispartitioned`:
 * - `reroute` (default): sent, bytes unchanged, to `<applicationId>-<topic>-rerouted`, on
 *   the partition where its key belongs, inside the transaction that commits its input
 *   offset; the task of that partition consumes the rerouted topic as another input of the
 *   same source, so the record joins as if it had been published there.
 * - `dlq`: dead-lettered with code MISPARTITIONED, its bytes and source offset kept.
 * Records without a key, and the rerouted topics themselves, are not checked.
 *
 * Pure: a message and where it arrived in, what to do with it out.
 *
 * @example const verdict = checkPartition(message, { topic, partition, partitions: 12 }, { action: 'reroute', applicationId })
 * @see partitioning.ts for the partitioners
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { InputTopic } from '../schemas/catalog.ts';
import type { Emission, Processor } from './processor.ts';
import { crc32Partition, murmur2Partition } from './partitioning.ts';

export const MISPARTITIONED_ACTIONS = ['reroute', 'dlq'] as const;
export type MispartitionedAction = (typeof MISPARTITIONED_ACTIONS)[number];

/** `<applicationId>-<topic>-rerouted`: where records of `topic` on the wrong partition go. Created with `topic`'s partition count. */
export function reroutedTopic(applicationId: string, topic: string): string {
  return `${applicationId}-${topic}-rerouted`;
}

/** A record sent, as it was fetched, to the partition where its key belongs. */
export interface RerouteEmission {
  kind: 'reroute';
  /** The rerouted topic. */
  topic: string;
  partition: number;
  key: Buffer;
  value: Buffer | null;
  headers?: IHeaders;
  timestamp: string;
  /** Where it was fetched: the input topic, for the metric. */
  source: { topic: string; partition: number; offset: string };
}

export interface ArrivedOn {
  topic: string;
  partition: number;
  /** Partitions of `topic`. */
  partitions: number;
}

export interface MispartitionPolicy {
  action: MispartitionedAction;
  applicationId: string;
}

export type MispartitionVerdict = RerouteEmission | Extract<Emission, { kind: 'dead-letter' }>;

/**
 * The inputs joined by key: those read by a processor that keeps state (per key) or that
 * also reads a repartition (whose records meet the input's on its key's partition). A
 * stateless processor's input is not checked: any partition serves it.
 */
export function keyJoinedInputs(processors: readonly Processor[]): Set<InputTopic> {
  const joined = new Set<InputTopic>();
  for (const p of processors) if (p.stores.length > 0 || (p.repartitions?.length ?? 0) > 0) for (const i of p.inputs) joined.add(i);
  return joined;
}

/** The partition a key belongs to under this service's partitioner (murmur2); null for a null or empty key, which no partitioner places by key. */
export function ownPartition(key: Buffer | null | undefined, partitions: number): number | null {
  if (!key || key.length === 0) return null;
  return murmur2Partition(key, partitions);
}

/**
 * Null when the record may be processed where it is (its key belongs here, or it has
 * none); otherwise what to emit instead of processing it: a reroute or a dead letter.
 */
export function checkPartition(message: KafkaMessage, at: ArrivedOn, policy: MispartitionPolicy): MispartitionVerdict | null {
  const key = message.key ?? null;
  const belongs = ownPartition(key, at.partitions);
  if (belongs === null || belongs === at.partition || !key) return null;
  const source = { topic: at.topic, partition: at.partition, offset: message.offset };
  if (policy.action === 'reroute') {
    return {
      kind: 'reroute',
      topic: reroutedTopic(policy.applicationId, at.topic),
      partition: belongs,
      key,
      value: message.value ?? null,
      ...(message.headers ? { headers: message.headers } : {}),
      timestamp: message.timestamp,
      source,
    };
  }
  const value = message.value ?? null;
  const crc = crc32Partition(key, at.partitions) === at.partition ? ", where librdkafka's default CRC32 partitioner (Python, Go, .NET clients) puts it" : '';
  return {
    kind: 'dead-letter',
    code: 'MISPARTITIONED',
    reason: `key ${JSON.stringify(key.toString('utf8'))} belongs to partition ${belongs} of ${at.partitions} (murmur2, the Java and kafkajs partitioner) but arrived on partition ${at.partition}${crc}: it would never meet the records it joins with (set streams.mispartitioned=reroute, or publish with a murmur2 partitioner)`,
    processor: 'partitioner',
    key: key.toString('utf8'),
    raw: { key, value, timestamp: Number(message.timestamp), schemaId: value && value.length >= 5 && value[0] === 0 ? value.readInt32BE(1) : null },
    source,
  };
}

/** What a task's transaction carries: its processors' emissions, and the records it reroutes. */
export type RuntimeEmission = Emission | RerouteEmission;

/**
 * The check as the stream thread runs it on every fetched message: only the key-joined
 * input topics it was built with are checked, with their partition counts (read once at
 * start); anything else, the rerouted topics and repartitions included, passes.
 */
export class MispartitionGuard {
  constructor(
    private readonly policy: MispartitionPolicy,
    /** Partition count of each checked input topic. */
    private readonly partitionsByTopic: ReadonlyMap<string, number>,
  ) {}

  check(message: KafkaMessage, topic: string, partition: number): MispartitionVerdict | null {
    const partitions = this.partitionsByTopic.get(topic);
    if (partitions === undefined) return null;
    return checkPartition(message, { topic, partition, partitions }, this.policy);
  }
}

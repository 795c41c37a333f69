/** Creates the topics the service needs: inputs, outputs, the DLQ and the store changelogs. */
import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { COMPACTED_TOPICS, TOPIC_ROLES } from '../schemas/catalog.ts';
import { ConfigError } from '../common/errors.ts';
import { changelogTopic } from './stores/index.ts';
import { repartitionTopic, type Processor } from './processor.ts';
import { StreamTask } from './task.ts';
import { keyJoinedInputs, reroutedTopic } from './mispartitioned.ts';

export interface TopicPlan {
  topic: string;
  compacted: boolean;
}

export function topicPlan(config: Config, storeNames: readonly string[], repartitionTopics: readonly string[] = []): TopicPlan[] {
  return [
    ...repartitionTopics.map((topic) => ({ topic, compacted: false })),
    ...TOPIC_ROLES.map((role) => ({ topic: config.topics[role], compacted: COMPACTED_TOPICS.has(role) })),
    ...storeNames.map((name) => ({ topic: changelogTopic(config.kafka.applicationId, name), compacted: true })),
  ];
}

/** Idempotent: existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, config: Config, storeNames: readonly string[], repartitionTopics: readonly string[] = []): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topicPlan(config, storeNames, repartitionTopics).filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        // Waited for below (kafkajs' own wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a
        // KRaft broker answers until a new topic's metadata reached it: a loaded box hits it).
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
      await waitForLeaders(admin, missing.map((t) => t.topic));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Until the broker knows `topics` and every partition of theirs has a leader (30 s at most). */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const { topics: metadata } = await withMetadata(() => admin.fetchTopicMetadata({ topics: [...topics] }));
    const leaderless = metadata.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
    if (leaderless.length === 0) return;
    if (attempt >= 150) throw new Error(`topics without a leader 30 s after they were created: ${leaderless.map((t) => t.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every topic a topology needs: the roles', its stores' changelogs, its repartitions and the rerouted topics of its key-joined inputs. */
export async function ensureTopologyTopics(kafka: Kafka, config: Config, processors: readonly Processor[]): Promise<void> {
  const repartitions = new Set(processors.flatMap((p) => p.repartitions ?? []).map((r) => repartitionTopic(config.kafka.applicationId, r.name)));
  await ensureTopics(kafka, config, StreamTask.storeNames(processors), [...repartitions]);
  // [partitioner] after the inputs exist: a rerouted topic has its input's partition count.
  await ensureReroutedTopics(
    kafka,
    config,
    [...keyJoinedInputs(processors)].map((role) => ({ topic: config.topics[role], compacted: COMPACTED_TOPICS.has(role) })),
  );
}

/** Retries a metadata read while the broker does not know a topic just created yet (30 s at most). */
async function withMetadata<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      const type = (err as { type?: string }).type;
      if ((type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') || attempt >= 150) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Partitions of each topic, through a connected admin client. */
export async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  if (topics.length === 0) return new Map();
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
  return new Map(metadata.map((t) => [t.name, t.partitions.length]));
}

/**
 * `<applicationId>-<input>-rerouted` for each input, with the input's partition count (a
 * record goes to the partition of the same number as the one its key belongs to on the
 * input), compacted where the input is (a catalog entry rerouted must outlive retention).
 * Idempotent; an existing rerouted topic with another count fails the start.
 */
export async function ensureReroutedTopics(kafka: Kafka, config: Config, inputs: ReadonlyArray<{ topic: string; compacted: boolean }>): Promise<void> {
  if (inputs.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = new Map(inputs.map(({ topic }) => [reroutedTopic(config.kafka.applicationId, topic), topic]));
    const compacted = new Set(inputs.filter((i) => i.compacted).map((i) => i.topic));
    const counts = await withMetadata(() => partitionCounts(admin, inputs.map((i) => i.topic)));
    const existing = new Set(await admin.listTopics());
    const missing = [...wanted].filter(([rerouted]) => !existing.has(rerouted));
    if (missing.length > 0) {
      await admin.createTopics({
        // Waited for below: kafkajs' wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft
        // broker answers until the new topic's metadata reached it.
        waitForLeaders: false,
        topics: missing.map(([topic, input]) => ({
          topic,
          numPartitions: counts.get(input) ?? config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: compacted.has(input) ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
    }
    const present = await withMetadata(() => partitionCounts(admin, [...wanted.keys()]));
    for (const [rerouted, input] of wanted) {
      const n = present.get(rerouted);
      if (n !== undefined && n !== counts.get(input)) {
        throw new ConfigError(`${rerouted} has ${n} partitions and ${input} ${counts.get(input)}: a rerouted topic needs its input's count (delete it and restart)`);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export interface InputPosition {
  /** The group's committed offset, or the log start where the group never committed. */
  next: bigint;
  /** The high watermark. */
  end: bigint;
}

/** Where a consumer group stands on each partition of `topics`, through a connected admin client. */
export async function groupPositions(admin: Admin, groupId: string, topics: readonly string[]): Promise<Map<string, Map<number, InputPosition>>> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  const out = new Map<string, Map<number, InputPosition>>();
  for (const topic of topics) {
    const byPartition = new Map<number, InputPosition>();
    const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const c = mine.find((p) => p.partition === o.partition)?.offset ?? '-1';
      byPartition.set(o.partition, { next: BigInt(c === '-1' ? o.low : c), end: BigInt(o.high) });
    }
    out.set(topic, byPartition);
  }
  return out;
}

/** The same, with an admin client of its own: what a task needs to know which inputs have a backlog. */
export async function inputPositions(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<Map<string, Map<number, InputPosition>>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await groupPositions(admin, groupId, topics);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>;
  fetchTopicsOffset(topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/**
 * Reads each partition's last stable offset (LSO): where a read_committed consumer's reach ends,
 * short of any transaction still open. kafkajs's admin client asks ListOffsets for the high
 * watermark (READ_UNCOMMITTED) and has no option for this, so the reader builds a cluster
 * client the way kafkajs builds a read_committed consumer's, through its (frozen, 2.2.4)
 * cluster factory. Where that factory cannot be found, `read` answers null and callers use the
 * high watermark.
 */
export class StableOffsetReader {
  private cluster: KafkajsCluster | null | undefined;

  constructor(private readonly kafka: Kafka) {}

  private async connected(): Promise<KafkajsCluster | null> {
    if (this.cluster !== undefined) return this.cluster;
    const factory = Object.getOwnPropertySymbols(this.kafka).find((s) => s.description === 'private:Kafka:createCluster');
    const create = factory ? (this.kafka as unknown as Record<symbol, unknown>)[factory] : undefined;
    if (typeof create !== 'function') return (this.cluster = null);
    // ISOLATION_LEVEL.READ_COMMITTED (kafkajs/src/protocol/isolationLevel.js)
    const cluster = (create as (o: object) => KafkajsCluster)({ allowAutoTopicCreation: false, isolationLevel: 1 });
    await cluster.connect();
    return (this.cluster = cluster);
  }

  /** The LSO of every partition of `topics`, or null when only high watermarks can be had. */
  async read(topics: readonly string[]): Promise<Map<string, Map<number, bigint>> | null> {
    const cluster = await this.connected();
    if (!cluster) return null;
    await cluster.addMultipleTargetTopics([...topics]);
    await cluster.refreshMetadataIfNecessary();
    const offsets = await cluster.fetchTopicsOffset(
      topics.map((topic) => ({ topic, fromBeginning: false, partitions: cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId })) })),
    );
    return new Map(offsets.map((t) => [t.topic, new Map(t.partitions.map((p) => [p.partition, BigInt(p.offset)]))]));
  }

  async close(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    await cluster?.disconnect().catch(() => undefined);
  }
}

/** What a consumer of this process knows of a partition it owns, beyond its committed offset. */
export interface FetchPosition {
  /** Next offset it will fetch: past every record fetched, commit markers and aborted data included. */
  received: bigint;
  /** Records fetched and not yet committed (buffered, or processed in a transaction still open). */
  pending: number;
}

/**
 * Records a group has yet to consume and commit on one partition, against the last stable
 * offset (`end`), without counting commit markers: on a partition this process owns, what
 * lies between its commit and its fetch position is its own pending records, and the markers
 * its fetches went past count for nothing (an idle, caught-up consumer of transactional topics
 * reads 0, not one per partition per transaction); elsewhere, end minus committed.
 */
export function partitionLag(committed: bigint, end: bigint, own?: FetchPosition): number {
  if (own && own.received >= committed) return own.pending + Math.max(0, Number(end - own.received));
  return Math.max(0, Number(end - committed));
}

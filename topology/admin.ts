/** Creates the topics the service needs: inputs, outputs, the DLQ and the store changelogs. */
import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { COMPACTED_TOPICS, TOPIC_ROLES } from '../schemas/catalog.ts';
import { changelogTopic } from './stores/index.ts';
import { repartitionTopic, type Processor } from './processor.ts';
import { StreamTask } from './task.ts';

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
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Every topic a topology needs: the roles', its stores' changelogs and its repartitions. */
export async function ensureTopologyTopics(kafka: Kafka, config: Config, processors: readonly Processor[]): Promise<void> {
  const repartitions = new Set(processors.flatMap((p) => p.repartitions ?? []).map((r) => repartitionTopic(config.kafka.applicationId, r.name)));
  await ensureTopics(kafka, config, StreamTask.storeNames(processors), [...repartitions]);
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

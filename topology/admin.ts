/** Creates the topics the service needs: inputs, outputs, the DLQ and the store changelogs. */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { COMPACTED_TOPICS, TOPIC_ROLES } from '../schemas/catalog.ts';
import { changelogTopic } from './stores/index.ts';

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

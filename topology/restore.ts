/**
 * Restores tasks from their compacted changelogs. kafkajs cannot assign a partition by hand
 * nor tell where committed data ends under read_committed (transaction markers occupy the
 * last offsets), so the restorer first commits a barrier record to each changelog partition
 * it needs, then reads with a throwaway group until it has seen every barrier: everything
 * before a barrier is settled (committed or aborted), so the state is complete. Each task's
 * barrier goes through the task's own transactional producer, initialised before the restore
 * (which has already settled what a previous owner left open).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../common/logger.ts';
import { changelogTopic } from './stores/index.ts';
import type { StreamTask } from './task.ts';

export const BARRIER_KEY = '\u0000restore-barrier';

export async function restoreTasks(args: {
  kafka: Kafka;
  /** Each task's initialised transactional producer, by partition. */
  producers: ReadonlyMap<number, Producer>;
  applicationId: string;
  tasks: StreamTask[];
  logger: Logger;
  timeoutMs?: number;
}): Promise<{ records: number; ms: number }> {
  const { kafka, producers, applicationId, tasks, logger } = args;
  const started = Date.now();
  if (tasks.length === 0) return { records: 0, ms: 0 };
  const storeNames = [...(tasks[0] as StreamTask).stores.keys()];
  const byPartition = new Map(tasks.map((t) => [t.partition, t]));
  const barrier = randomUUID();
  const topicToStore = new Map(storeNames.map((s) => [changelogTopic(applicationId, s), s]));

  await Promise.all(
    tasks.map(async (t) => {
      const producer = producers.get(t.partition);
      if (!producer) throw new Error(`no producer for task ${t.partition} to commit its restore barrier`);
      const txn = await producer.transaction();
      try {
        await txn.sendBatch({ topicMessages: [...topicToStore.keys()].map((topic) => ({ topic, messages: [{ key: BARRIER_KEY, value: barrier, partition: t.partition }] })) });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
    }),
  );

  const waiting = new Set<string>();
  for (const topic of topicToStore.keys()) for (const t of tasks) waiting.add(`${topic}/${t.partition}`);
  const groupId = `${applicationId}-restore-${barrier}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  let records = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...topicToStore.keys()], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`changelog restore did not reach its barriers within ${args.timeoutMs ?? 120_000} ms`)), args.timeoutMs ?? 120_000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const task = byPartition.get(batch.partition);
            const storeName = topicToStore.get(batch.topic);
            if (!task || !storeName) return;
            const store = task.stores.get(storeName);
            for (const m of batch.messages) {
              const key = m.key?.toString('utf8') ?? '';
              if (key === BARRIER_KEY) {
                if (m.value?.toString('utf8') === barrier) waiting.delete(`${batch.topic}/${batch.partition}`);
                continue;
              }
              store?.changelog.restore(key, m.value);
              records++;
            }
            if (waiting.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
  const ms = Date.now() - started;
  logger.info({ partitions: tasks.map((t) => t.partition), records, ms }, 'restored tasks from changelogs');
  return { records, ms };
}

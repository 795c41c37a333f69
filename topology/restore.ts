/**
 * Restores tasks from their compacted changelogs. kafkajs cannot assign a partition by hand
 * nor tell where committed data ends under read_committed (transaction markers occupy the
 * last offsets), so the restorer first commits a barrier record to each changelog partition
 * it needs, then reads with a throwaway group until it has seen every barrier: everything
 * before a barrier is settled (committed or aborted), so the state is complete. Each task's
 * barrier goes through the task's own transactional producer, initialised before the restore
 * (which has already settled what a previous owner left open).
 *
 * With task snapshots (`topology/state/`), a task whose snapshot is valid against the
 * changelogs' bounds is first filled from it, and its changelog partitions are read from the
 * snapshot's offsets only: the tail. The others are read from the beginning; changelog
 * partitions of no task being restored are skipped (sought to their end). The seeks are made
 * again on every join of the restore consumer, from where it stands, since kafkajs restarts a
 * crashed consumer with its seeks forgotten. Reading more than the tail would still be safe
 * (a changelog replayed over the snapshot ends in the same state), only slower.
 *
 * A restore runs inside the main consumer's batch: `heartbeat` is called every
 * `heartbeatIntervalMs` meanwhile, so a long restore does not get the instance evicted
 * from its group.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../common/logger.ts';
import type { ChangelogBounds, TaskSnapshots } from './state/index.ts';
import { changelogTopic } from './stores/index.ts';
import type { StreamTask } from './task.ts';

export const BARRIER_KEY = '\u0000restore-barrier';

export interface RestoreResult {
  /** Changelog records read and applied (barriers not counted). */
  records: number;
  /** Entries loaded from snapshots. */
  snapshotEntries: number;
  /** Tasks that started from a snapshot. */
  fromSnapshot: number;
  ms: number;
}

export async function restoreTasks(args: {
  kafka: Kafka;
  /** Each task's initialised transactional producer, by partition. */
  producers: ReadonlyMap<number, Producer>;
  applicationId: string;
  tasks: StreamTask[];
  logger: Logger;
  timeoutMs?: number;
  snapshots?: TaskSnapshots;
  heartbeat?: () => Promise<void>;
  heartbeatIntervalMs?: number;
}): Promise<RestoreResult> {
  const { kafka, producers, applicationId, tasks, logger, snapshots } = args;
  const started = Date.now();
  if (tasks.length === 0) return { records: 0, snapshotEntries: 0, fromSnapshot: 0, ms: 0 };
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

  // [restore] Heartbeats of the main consumer for as long as the restore lasts (its batch is blocked on us).
  const beat = args.heartbeat
    ? setInterval(() => {
        args.heartbeat?.().catch((err: unknown) => logger.debug({ err }, 'heartbeat during a restore failed (a rebalance began?)'));
      }, args.heartbeatIntervalMs ?? 3_000)
    : undefined;
  beat?.unref();

  const topics = [...topicToStore.keys()];
  const groupId = `${applicationId}-restore-${barrier}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  let records = 0;
  let snapshotEntries = 0;
  const fromSnapshot = new Set<number>();
  const recordsByPartition = new Map<number, number>();
  /** Per `topic/partition`: the offset after the barrier, once seen. */
  const barrierNext = new Map<string, bigint>();
  try {
    // Where each changelog partition starts and ends, after the barriers: a snapshot's offset must lie in between.
    const bounds = new Map<string, ChangelogBounds>();
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of topics) {
        for (const o of await admin.fetchTopicOffsets(topic)) bounds.set(`${topic}/${o.partition}`, { low: BigInt(o.low), high: BigInt(o.high) });
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }

    /** Per `topic/partition`: where the restore consumer starts. */
    const startAt = new Map<string, bigint>();
    for (const [key, b] of bounds) {
      const partition = Number(key.slice(key.lastIndexOf('/') + 1));
      startAt.set(key, byPartition.has(partition) ? b.low : b.high);
    }
    for (const task of tasks) {
      const loaded = await snapshots?.load(task, (store) => bounds.get(`${changelogTopic(applicationId, store)}/${task.partition}`));
      if (!loaded) continue;
      fromSnapshot.add(task.partition);
      snapshotEntries += loaded.entries;
      for (const [store, offset] of loaded.offsets) startAt.set(`${changelogTopic(applicationId, store)}/${task.partition}`, offset);
    }

    const waiting = new Set<string>();
    for (const topic of topics) for (const t of tasks) waiting.add(`${topic}/${t.partition}`);
    /** Per `topic/partition` still waiting: the offset after the last record applied. */
    const progress = new Map<string, bigint>();
    // On every join, before its first fetch, each partition goes where the restore stands:
    // kafkajs restarts a consumer that crashed (a coordinator still loading, say) with a new
    // group member that has forgotten every seek, and would read from the beginning.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [key, start] of startAt) {
        const cut = key.lastIndexOf('/');
        const offset = waiting.has(key) ? (progress.get(key) ?? start) : (barrierNext.get(key) ?? bounds.get(key)?.high ?? start);
        consumer.seek({ topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)), offset: offset.toString() });
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = args.timeoutMs ?? 120_000;
      const timer = setTimeout(() => reject(new Error(`changelog restore did not reach its barriers within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const task = byPartition.get(batch.partition);
            const storeName = topicToStore.get(batch.topic);
            if (!task || !storeName) return;
            const store = task.stores.get(storeName);
            const key = `${batch.topic}/${batch.partition}`;
            for (const m of batch.messages) {
              const k = m.key?.toString('utf8') ?? '';
              if (k === BARRIER_KEY) {
                if (m.value?.toString('utf8') === barrier && waiting.delete(key)) barrierNext.set(key, BigInt(m.offset) + 1n);
                continue;
              }
              // Past our barrier is data the next owner of this task writes: not ours to read.
              if (!waiting.has(key)) continue;
              store?.changelog.restore(k, m.value);
              records++;
              recordsByPartition.set(batch.partition, (recordsByPartition.get(batch.partition) ?? 0) + 1);
              progress.set(key, BigInt(m.offset) + 1n);
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
    if (beat) clearInterval(beat);
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }

  if (snapshots) {
    for (const task of tasks) {
      const positions = new Map<string, bigint>();
      for (const store of storeNames) {
        const next = barrierNext.get(`${changelogTopic(applicationId, store)}/${task.partition}`);
        if (next !== undefined) positions.set(store, next);
      }
      snapshots.restored(task.partition, positions, recordsByPartition.get(task.partition) ?? 0, fromSnapshot.has(task.partition));
    }
  }
  const ms = Date.now() - started;
  logger.info(
    { partitions: tasks.map((t) => t.partition), records, recordsByPartition: Object.fromEntries(recordsByPartition), snapshotEntries, fromSnapshot: [...fromSnapshot], ms },
    'restored tasks from snapshots and changelogs',
  );
  return { records, snapshotEntries, fromSnapshot: fromSnapshot.size, ms };
}

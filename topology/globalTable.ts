/**
 * Kafka Streams' GlobalKTable: every instance reads the whole of a (compacted) topic into
 * memory and keeps following it, so a processor can look up any key, whatever partition
 * its own input is on. Used for small reference data: the instance catalog, spot risk.
 * `start()` resolves once the table has caught up with the end of the topic as it was at
 * start; records that do not decode are skipped (the topology dead-letters its inputs).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { TopicRole } from '../schemas/catalog.ts';
import type { TopicRecords } from '../schemas/generated/records.ts';
import { DeadLetterError, withRetries } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { TopicSerde } from './serde.ts';

export class GlobalTable<R extends TopicRole> {
  readonly rows = new Map<string, TopicRecords[R]>();
  private consumer?: Consumer;
  private readonly groupId: string;
  /** Called when the table's consumer stopped for good (kafkajs will not restart it): the table no longer follows its topic. */
  onFatal?: (err: Error) => void;

  constructor(
    private readonly kafka: Kafka,
    private readonly serde: TopicSerde,
    readonly role: R,
    private readonly topic: string,
    applicationId: string,
    private readonly logger: Logger,
  ) {
    // A group of its own per start: the table is rebuilt from the beginning every time.
    this.groupId = `${applicationId}-global-${role}-${randomUUID()}`;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    // Right after the topic is created its leaders may still be moving: retry.
    const ends = await withRetries('read the end offsets of a global table', () => admin.fetchTopicOffsets(this.topic), {
      retries: 10,
      initialDelayMs: 200,
      maxDelayMs: 2_000,
      retryAll: true,
    }).finally(() => admin.disconnect());
    const pending = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high) - 1]));
    this.consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    const bounds = { minEventTimeMs: Number.NEGATIVE_INFINITY, maxEventTimeMs: Number.POSITIVE_INFINITY };
    let caughtUp: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      caughtUp = resolve;
      if (pending.size === 0) resolve();
    });
    const progressed = (partition: number, lastOffset: number) => {
      const target = pending.get(partition);
      if (target !== undefined && lastOffset >= target) {
        pending.delete(partition);
        if (pending.size === 0) caughtUp();
      }
    };
    // A fetch of only control records and aborted data (the tail a crashed writer leaves)
    // never reaches eachBatch, yet it is progress.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => progressed(payload.partition, Number(payload.lastOffset)));
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      this.logger.error({ err: payload.error, topic: this.topic }, 'global table consumer crashed and will not restart: the table no longer follows its topic');
      this.onFatal?.(payload.error);
    });
    void this.consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const key = m.key?.toString('utf8');
          if (key === undefined) continue;
          if (m.value === null) {
            this.rows.delete(key);
          } else {
            try {
              this.rows.set(key, await this.serde.decode(this.role, m.value, bounds));
            } catch (err) {
              if (!(err instanceof DeadLetterError)) throw err;
            }
          }
        }
        progressed(batch.partition, Number(batch.lastOffset()));
      },
    });
    const timer = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`global table ${this.topic} did not catch up within ${timeoutMs} ms`)), timeoutMs).unref());
    await Promise.race([ready, timer]);
    this.logger.info({ topic: this.topic, rows: this.rows.size }, 'global table loaded');
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([this.groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
}

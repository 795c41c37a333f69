/**
 * Pieces the Kafka benchmarks share: raw kafkajs consumers over a backlog (the baselines a
 * pipeline's throughput is divided by), with or without Avro decoding, and a consumer
 * group's progress read from its committed offsets (under exactly-once, committed with the
 * outputs), so that "drained" means every input and repartition topic committed to its end.
 */
import { performance } from 'node:perf_hooks';
import avro from 'avsc';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { TopicRole } from '../schemas/catalog.ts';
import type { TopicSerde } from '../topology/serde.ts';

export interface RawConsumeResult {
  /** From joining the group to the last record: connecting and joining are start-up, every fetch is in. */
  steadyMs: number;
  events: number;
  eventsPerSecond: number;
  /** Events per CPU-second of this process while it consumed. */
  eventsPerCpuSecond: number;
}

/**
 * A raw kafkajs consumer reading `expected` records of `topics` from the beginning, each value
 * passed to `decode` when one is given. The clock starts when the consumer has joined its
 * group, before its first fetch (which, on a backlog, brings a large share of it at once).
 */
export async function rawKafkajsConsume(brokers: string[], topics: string[], expected: number, decode: ((value: Buffer) => unknown) | null, maxBytesPerPartition?: number): Promise<RawConsumeResult> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-raw-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100, ...(maxBytesPerPartition ? { maxBytesPerPartition } : {}) });
  let joinedAt = 0;
  let joinedCpu = process.cpuUsage();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt = performance.now();
    joinedCpu = process.cpuUsage();
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let n = 0;
  let decoded = 0;
  const done = await new Promise<{ ms: number; cpuS: number; events: number }>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (decode) {
          for (const m of batch.messages) if (m.value && decode(m.value) !== undefined) decoded++;
        }
        n += batch.messages.length;
        if (n >= expected) {
          const cpu = process.cpuUsage(joinedCpu);
          resolve({ ms: performance.now() - joinedAt, cpuS: (cpu.user + cpu.system) / 1e6, events: n });
        }
      },
    });
  });
  await consumer.disconnect();
  if (decode && decoded !== n) throw new Error(`raw decoding baseline decoded ${decoded} of ${n} records`);
  return { steadyMs: Math.round(done.ms), events: done.events, eventsPerSecond: Math.round((done.events / done.ms) * 1000), eventsPerCpuSecond: Math.round(done.events / done.cpuS) };
}

/**
 * A synchronous Avro decoder of the wire format for the roles' registered schemas (avsc,
 * writer schema by id; no validation): what any consumer of these topics must at least do.
 */
export async function avroDecoder(serde: TopicSerde, roles: readonly TopicRole[]): Promise<(value: Buffer) => unknown> {
  const types = new Map<number, avro.Type>();
  for (const role of roles) {
    const id = serde.schemaId(role);
    types.set(id, avro.Type.forSchema((await serde.registry.getSchema(id)) as unknown as avro.Schema));
  }
  return (value: Buffer) => {
    const type = types.get(value.readInt32BE(1));
    if (!type) throw new Error(`unexpected schema id ${value.readInt32BE(1)}`);
    return type.fromBuffer(value.subarray(5));
  };
}

/** The sum of the high watermarks of the topics' partitions. */
export async function endOffsets(admin: Admin, topics: readonly string[]): Promise<number> {
  let n = 0;
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) n += Number(p.high);
  return n;
}

/** The sum of a group's committed offsets on the topics (0 where it never committed). */
export async function committedOffsets(admin: Admin, groupId: string, topics: readonly string[]): Promise<number> {
  let n = 0;
  for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) for (const p of t.partitions) n += Math.max(0, Number(p.offset));
  return n;
}

/** An application's repartition topics (`<applicationId>-<name>-repartition`, as both this runtime and Kafka Streams name them). */
export async function repartitionTopics(admin: Admin, applicationId: string): Promise<string[]> {
  return (await admin.listTopics()).filter((t) => t.startsWith(`${applicationId}-`) && t.endsWith('-repartition'));
}

/**
 * Whether the application's group has consumed and committed every repartition topic to its
 * end. These topics are written in transactions, so each partition ends with the commit marker
 * of the last transaction that wrote to it: a runtime that commits the offset after its last
 * record (this one) stops one short of the high watermark, one that commits its position
 * (Kafka Streams) reaches it. Either counts as drained once the inputs are, as nothing is
 * written to a repartition topic then but from records still to be consumed.
 */
export async function repartitionsDrained(admin: Admin, applicationId: string): Promise<boolean> {
  const topics = await repartitionTopics(admin, applicationId);
  if (topics.length === 0) return true;
  const committed = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId: applicationId, topics })) for (const p of t.partitions) committed.set(`${t.topic}:${p.partition}`, Math.max(0, Number(p.offset)));
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if ((committed.get(`${topic}:${p.partition}`) ?? 0) < Number(p.high) - 1) return false;
    }
  }
  return true;
}

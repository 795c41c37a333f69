// The module under test goes first: it must run before kafkajs is loaded, as in the service.
import {
  groupMessagesPerPartition,
  kafkajsHotPath,
  nativeCrc32c,
  replaceKafkajsModule,
  reportKafkajsHotPath,
  useNativeCrc32c,
  type EncoderClass,
  type GroupArgs,
  type Grouping,
} from '../../../topology/kafkajsHotPath.ts';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const GROUPING = 'kafkajs/src/producer/groupMessagesPerPartition.js';
const SEND_MESSAGES = 'kafkajs/src/producer/sendMessages.js';

interface Msg {
  key: string;
  value: string;
}
type Group = <M>(args: GroupArgs<M>) => Grouping<M>;

const CRC32C = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const RECORD_BATCH = 'kafkajs/src/protocol/recordBatch/v0/index.js';
type Crc = (buffer: Uint8Array) => number;

/** kafkajs' own module `id`, loaded afresh beside the cached (replaced) one. */
function original<T>(id: string): T {
  const path = require.resolve(id);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as T;
  } finally {
    if (cached) require.cache[path] = cached;
  }
}
const originalGrouping = (): Group => original<Group>(GROUPING);

/** A small deterministic PRNG (mulberry32): the same cases every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCase(rand: () => number): { partitionMetadata: Array<{ partitionId: number; leader: number }>; messages: Msg[] } {
  const partitions = 1 + Math.floor(rand() * 12);
  const count = Math.floor(rand() * 300);
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: i % 3 }));
  const messages = Array.from({ length: count }, (_, i) => ({ key: `k${Math.floor(rand() * 50)}`, value: `v${i}` }));
  return { partitionMetadata, messages };
}

/** Partitioners as kafkajs calls them: by key (hash), or round robin (stateful: call order matters). */
function partitioners(): Array<() => GroupArgs<Msg>['partitioner']> {
  const byKey = () => ({ partitionMetadata, message }: { partitionMetadata: readonly unknown[]; message: Msg }) =>
    [...message.key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % partitionMetadata.length;
  const roundRobin = () => {
    let next = 0;
    return ({ partitionMetadata }: { partitionMetadata: readonly unknown[] }) => next++ % partitionMetadata.length;
  };
  return [byKey, roundRobin];
}

describe('kafkajs hot path: linear groupMessagesPerPartition', () => {
  it('is in place: imported before kafkajs, the cached module kafkajs requires is the linear one', () => {
    expect(kafkajsHotPath().grouping).toBe('patched');
    expect(typeof Kafka).toBe('function'); // kafkajs is loaded (after the patch)
    expect(require.cache[require.resolve(SEND_MESSAGES)]).toBeDefined();
    expect(require(GROUPING)).toBe(groupMessagesPerPartition);
  });

  it('groups exactly as kafkajs does on random inputs: same partitions, in the same key order, messages in order', () => {
    const original = originalGrouping();
    expect(original).not.toBe(groupMessagesPerPartition);
    const rand = prng(20261203);
    for (let i = 0; i < 200; i++) {
      const { partitionMetadata, messages } = randomCase(rand);
      for (const make of partitioners()) {
        const expected = original({ topic: 't', partitionMetadata, messages, partitioner: make() });
        const actual = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner: make() });
        expect(Object.keys(actual)).toEqual(Object.keys(expected));
        for (const p of Object.keys(expected)) expect(actual[p]).toEqual(expected[p]);
      }
    }
    // No partition metadata: {} without calling the partitioner, as kafkajs.
    const never = () => {
      throw new Error('called');
    };
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ key: 'a', value: 'b' }], partitioner: never })).toEqual({});
  });

  it("kafkajs' own producer path (sendMessages) sends the grouping of the linear function", async () => {
    // sendMessages as kafkajs loaded it (from the cache), driven with a fake cluster and broker.
    type SendMessages = (deps: object) => (req: object) => Promise<unknown>;
    const createSendMessages = require(SEND_MESSAGES) as SendMessages;
    const original = originalGrouping();
    const rand = prng(42);
    for (let i = 0; i < 50; i++) {
      const { partitionMetadata, messages } = randomCase(rand);
      if (messages.length === 0) continue;
      const produced: Array<{ topic: string; partitions: Array<{ partition: string; messages: Msg[] }> }> = [];
      const broker = {
        nodeId: 0,
        produce: ({ topicData }: { topicData: typeof produced }) => {
          produced.push(...topicData);
          return Promise.resolve({});
        },
      };
      const cluster = {
        targetTopics: new Set<string>(),
        refreshMetadataIfNecessary: () => Promise.resolve(),
        addMultipleTargetTopics: () => Promise.resolve(),
        isConnected: () => true,
        findTopicPartitionMetadata: () => partitionMetadata,
        findLeaderForPartitions: (_topic: string, partitions: string[]) => ({ 0: partitions }),
        findBroker: () => Promise.resolve(broker),
      };
      const eosManager = {
        acquireBrokerLock: () => Promise.resolve(),
        releaseBrokerLock: () => Promise.resolve(),
        isTransactional: () => false,
        getSequence: () => 0,
        updateSequence: () => undefined,
        getProducerId: () => -1,
        getProducerEpoch: () => 0,
        getTransactionalId: () => undefined,
      };
      const retrier = (fn: (bail: (e: Error) => never, retryCount: number, retryTime: number) => Promise<unknown>) =>
        fn((e) => {
          throw e;
        }, 0, 0);
      const logger = { debug: () => undefined, error: () => undefined };
      const [make] = partitioners();
      // kafkajs' original calls messages.reduce; the linear one iterates: an array whose reduce
      // throws shows which of the two sendMessages runs.
      class NoReduce<T> extends Array<T> {
        override reduce(): never {
          throw new Error('kafkajs original grouping ran');
        }
      }
      const traced = NoReduce.from(messages) as Msg[];
      const send = createSendMessages({ logger, cluster, partitioner: make!(), eosManager, retrier });
      await send({ acks: 0, timeout: 1000, topicMessages: [{ topic: 't', messages: traced }] });

      const expected = original({ topic: 't', partitionMetadata, messages, partitioner: make!() });
      expect(produced).toHaveLength(1);
      expect(produced[0]!.partitions.map((p) => p.partition)).toEqual(Object.keys(expected));
      for (const { partition, messages: sent } of produced[0]!.partitions) expect(sent).toEqual(expected[partition]);
    }
  });

  it('leaves kafkajs as it is when its user module is already loaded (too late), and says so', () => {
    // sendMessages.js is loaded by now: a replacement of a module it requires comes too late.
    expect(replaceKafkajsModule('kafkajs/src/producer/createTopicData.js', SEND_MESSAGES, () => ({}), () => true)).toBe('too-late');
    expect(replaceKafkajsModule('kafkajs/src/no/such/module.js', SEND_MESSAGES, () => ({}), () => true)).toBe('unavailable');
    const warnings: object[] = [];
    reportKafkajsHotPath({ warn: (obj) => warnings.push(obj) });
    expect(warnings).toEqual([]); // all in place: nothing logged
  });
});

describe('kafkajs hot path: native CRC32C for record batches', () => {
  it('is in place: the CRC32C module kafkajs requires is @node-rs/crc32', () => {
    expect(kafkajsHotPath().crc32c).toBe('patched');
    const kafkajsOwn = original<Crc>(CRC32C);
    expect(String(kafkajsOwn)).toMatch(/unsigned\(crc32C\(buffer\)\)/); // kafkajs' index.js
    expect(String(require(CRC32C))).toMatch(/crc32c\(buffer\)/); // ours, calling @node-rs/crc32
  });

  it("gives kafkajs' value, byte for byte, on random buffers: empty, odd lengths, views at odd offsets, large", () => {
    const js = original<Crc>(CRC32C);
    const native = require(CRC32C) as Crc;
    const lengths = [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 255, 1000, 1023, 4097, 16_385, 100_003];
    for (const n of lengths) {
      const buf = randomBytes(n);
      expect(native(buf)).toBe(js(buf));
      // A Buffer that is a view into a larger one (as kafkajs' encoder's buffers can be).
      const wide = randomBytes(n + 11);
      const view = wide.subarray(3, 3 + n);
      expect(native(view)).toBe(js(view));
      expect(native(new Uint8Array(view))).toBe(js(view));
    }
    for (let i = 0; i < 200; i++) {
      const buf = randomBytes(Math.floor(Math.random() * 3000));
      expect(native(buf)).toBe(js(buf));
    }
    expect(native(Buffer.alloc(0))).toBe(0);
    expect(native(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it("kafkajs' own record batch carries the CRC32C of its body, as kafkajs computes it", async () => {
    // kafkajs loads the record batch encoder when it first builds a produce request: after the patch.
    type RecordBatch = (args: object) => Promise<{ buffer: Buffer }>;
    const { RecordBatch: recordBatch } = require(RECORD_BATCH) as { RecordBatch: RecordBatch };
    const js = original<Crc>(CRC32C);
    const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => unknown;
    const records = Array.from({ length: 37 }, (_, i) => encodeRecord({ key: Buffer.from(`k${i}`), value: randomBytes(i * 3), offsetDelta: i }));
    const { buffer } = await recordBatch({ records, lastOffsetDelta: records.length - 1 });
    // firstOffset int64, length int32, partitionLeaderEpoch int32, magic int8, then the CRC over the rest.
    expect(buffer.readUInt32BE(17)).toBe(js(buffer.subarray(21)));
  });

  it('keeps kafkajs\' own where the package cannot be loaded', () => {
    const failing = Object.assign(
      () => {
        throw new Error('Cannot find module');
      },
      { resolve: require.resolve, cache: require.cache },
    ) as unknown as NodeJS.Require;
    expect(nativeCrc32c(failing)).toBeNull();
    expect(useNativeCrc32c(require, null)).toBe('unavailable');
  });
});

describe('kafkajs hot path: pooled Encoder', () => {
  const ENCODER = 'kafkajs/src/protocol/encoder.js';
  type Enc = Record<string, (...args: unknown[]) => Enc> & { buffer: Buffer; buf: Buffer; offset: number };
  type EncClass = new (initialSize?: number) => Enc;

  it('is in place: the Encoder kafkajs requires is the pooled subclass, small buffers from the pool', () => {
    expect(kafkajsHotPath().encoder).toBe('patched');
    const Pooled = require(ENCODER) as EncoderClass;
    const Original = original<EncoderClass>(ENCODER);
    expect(Pooled).not.toBe(Original);
    const e = new Pooled();
    expect(e.buf.length).toBe(512);
    expect(e.buf.buffer.byteLength).toBeGreaterThan(512); // a slice of Node's pool
    expect([...e.buf].every((b) => b === 0)).toBe(true);
    expect(new Pooled(100_000).buf.length).toBe(131_072);
    // Static methods are inherited from kafkajs' class.
    expect((Pooled as unknown as { sizeOfVarInt(v: number): number }).sizeOfVarInt(300)).toBe(2);
  });

  it("encodes the same bytes as kafkajs' Encoder for random sequences of writes", () => {
    const Pooled = require(ENCODER) as unknown as EncClass;
    const Original = original<EncClass>(ENCODER);
    const rand = prng(7);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const ints = [0, 1, -1, 63, 64, 127, 128, 255, 256, 16_383, 16_384, 2 ** 21, 2 ** 28, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, 2 ** 40, 1.5, -7.25];
    const str = () => 'x'.repeat(Math.floor(rand() * 40)) + pick(['', 'é', '日本', '\u{1F600}', '\ud800']);
    const bytes = () => randomBytes(Math.floor(rand() * pick([8, 600, 5000])));
    const ops: Array<[string, () => unknown[]]> = [
      ['writeInt8', () => [Math.floor(rand() * 256) - 128]],
      ['writeInt16', () => [Math.floor(rand() * 65_536) - 32_768]],
      ['writeInt32', () => [pick(ints.filter((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31))]],
      ['writeUInt32', () => [Math.floor(rand() * 2 ** 32)]],
      ['writeInt64', () => [String(Math.floor(rand() * 2 ** 52))]],
      ['writeString', () => [str()]],
      ['writeVarIntString', () => [str()]],
      ['writeBytes', () => [bytes()]],
      ['writeVarIntBytes', () => [pick([bytes(), str(), null])]],
      ['writeUVarInt', () => [pick(ints)]],
      ['writeVarInt', () => [pick(ints)]],
      ['writeVarLong', () => [Math.floor(rand() * 2 ** 40) - 2 ** 39]],
      ['writeBuffer', () => [bytes()]],
      ['writeArray', () => [[1, 2, 3].map(() => Math.floor(rand() * 1000)), 'int32']],
    ];
    for (let round = 0; round < 300; round++) {
      const a = new Original(pick([0, 1, 10, 511, 4096]));
      const b = new Pooled(pick([0, 1, 10, 511, 4096]));
      const steps = Math.floor(rand() * 60);
      for (let i = 0; i < steps; i++) {
        const [name, args] = pick(ops);
        const values = args();
        a[name]!(...values);
        b[name]!(...values);
      }
      // Nested encoders (records in a batch).
      a.writeEncoder!(new Original().writeVarInt!(5));
      b.writeEncoder!(new Pooled().writeVarInt!(5));
      expect(b.buffer.equals(a.buffer)).toBe(true);
      expect(b.offset).toBe(a.offset);
    }
  });
});

// The module under test goes first: it must run before kafkajs is loaded, as in the service.
import { groupMessagesPerPartition, kafkajsHotPath, replaceKafkajsModule, reportKafkajsHotPath, type GroupArgs, type Grouping } from '../../../topology/kafkajsHotPath.ts';
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

/** kafkajs' own groupMessagesPerPartition, loaded afresh beside the cached (replaced) one. */
function originalGrouping(): Group {
  const path = require.resolve(GROUPING);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as Group;
  } finally {
    if (cached) require.cache[path] = cached;
  }
}

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
    expect(replaceKafkajsModule('kafkajs/src/producer/createTopicData.js', SEND_MESSAGES, () => undefined, () => true)).toBe('too-late');
    expect(replaceKafkajsModule('kafkajs/src/no/such/module.js', SEND_MESSAGES, () => undefined, () => true)).toBe('unavailable');
    const warnings: object[] = [];
    reportKafkajsHotPath({ warn: (obj) => warnings.push(obj) });
    expect(warnings).toEqual([]); // all in place: nothing logged
  });
});

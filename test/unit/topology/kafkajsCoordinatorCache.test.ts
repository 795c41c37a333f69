import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { cacheCoordinators, cachedCoordinators, COORDINATOR_REQUESTS, type BrokerClass, type ClusterClass } from '../../../topology/kafkajsCoordinatorCache.ts';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };
const errors = require('kafkajs/src/errors.js') as Record<string, new (message: string, props?: object) => Error>;
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (options: object) => EosManager;

const GROUP = 0;
const TRANSACTION = 1;

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(topicData: Array<{ topic: string; partitions: Array<{ partition: number }> }>): Promise<void>;
  sendOffsets(args: { consumerGroupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }): Promise<void>;
  commit(): Promise<void>;
}

interface FakeBroker {
  nodeId: number;
  connectionPool: { sasl: null; isConnected(): boolean };
  connected: boolean;
  /** Per coordinator request, the errors its next calls throw, first first. */
  fail: Record<string, Error[]>;
  requests: string[];
  findGroupCoordinator(): Promise<{ coordinator: { nodeId: number; host: string; port: number } }>;
  endTxn(args: object): Promise<unknown>;
}

interface Cluster {
  brokerPool: unknown;
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<FakeBroker>;
}

/** Fresh, unpatched copies of kafkajs' Cluster and Broker classes: each test patches its own. */
function freshClasses(): { cluster: ClusterClass & (new (options: object) => Cluster); broker: BrokerClass & { prototype: Record<string, unknown> } } {
  const load = <T>(path: string): T => {
    const resolved = require.resolve(path);
    delete require.cache[resolved];
    return require(resolved) as T;
  };
  return { cluster: load('kafkajs/src/cluster/index.js'), broker: load('kafkajs/src/broker/index.js') };
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, namespace: () => silent, setLogLevel: () => undefined };

/**
 * The real kafkajs Cluster (its own findGroupCoordinator, retries and all) over a fake broker
 * pool of brokers 1..3 that are instances of the (fresh) Broker class, whose coordinator
 * requests are scripted; `coordinator` is the node the brokers name as coordinator.
 */
function harness(options: { ttlMs?: number; now?: () => number } = {}) {
  const classes = freshClasses();
  const proto = classes.broker.prototype;
  // Scripted coordinator requests, installed before the patch wraps them.
  for (const name of COORDINATOR_REQUESTS) {
    proto[name] = async function (this: FakeBroker) {
      this.requests.push(name);
      const err = this.fail[name]?.shift();
      if (err) throw err;
      return name === 'initProducerId' ? { producerId: 7, producerEpoch: 0 } : {};
    };
  }
  const state = { coordinator: 1, lookups: 0 };
  proto.findGroupCoordinator = async function () {
    state.lookups++;
    return { coordinator: { nodeId: state.coordinator, host: 'localhost', port: 9090 + state.coordinator } };
  };
  const makeBroker = (nodeId: number): FakeBroker => {
    const broker = Object.create(proto) as FakeBroker;
    Object.assign(broker, { nodeId, connected: true, fail: {}, requests: [] });
    broker.connectionPool = { sasl: null, isConnected: () => broker.connected };
    return broker;
  };
  const brokers: Record<string, FakeBroker> = { 1: makeBroker(1), 2: makeBroker(2), 3: makeBroker(3) };
  const pool = {
    brokers,
    async withBroker<T>(callback: (args: { nodeId: string; broker: FakeBroker }) => Promise<T>): Promise<T> {
      return callback({ nodeId: '3', broker: brokers['3']! });
    },
    async findBroker({ nodeId }: { nodeId: number }): Promise<FakeBroker> {
      const broker = brokers[String(nodeId)];
      if (!broker) throw new errors.KafkaJSBrokerNotFound!('Broker not found in the cached metadata');
      return broker;
    },
    async refreshMetadata() {},
    async refreshMetadataIfNecessary() {},
  };
  const newCluster = (): Cluster => {
    const cluster = new classes.cluster({ logger: silent, brokers: ['localhost:9091'], retry: { retries: 3, initialRetryTime: 1, maxRetryTime: 5 } });
    cluster.brokerPool = pool;
    return cluster;
  };
  expect(cacheCoordinators(classes, options)).toBe(true);
  return { classes, state, brokers, makeBroker, newCluster, cluster: newCluster() };
}

const txn = (id = 'app-0') => ({ groupId: id, coordinatorType: TRANSACTION });

describe('kafkajs coordinator cache', () => {
  it('looks a coordinator up once per cluster and (type, id), then serves it from the cache', async () => {
    const h = harness();
    const first = await h.cluster.findGroupCoordinator(txn());
    expect(first).toBe(h.brokers['1']);
    expect(await h.cluster.findGroupCoordinator(txn())).toBe(first);
    expect(h.state.lookups).toBe(1);
    await h.cluster.findGroupCoordinator(txn('app-1'));
    await h.cluster.findGroupCoordinator({ groupId: 'app-0' }); // the group coordinator of a group named like the id
    await h.cluster.findGroupCoordinator({ groupId: 'app-0', coordinatorType: GROUP }); // the same key
    expect(h.state.lookups).toBe(3);
    expect(cachedCoordinators(h.cluster)).toBe(3);
    await h.newCluster().findGroupCoordinator(txn()); // another client's cluster has its own cache
    expect(h.state.lookups).toBe(4);
  });

  it('a transaction through kafkajs\' own eosManager sends one FindCoordinator per coordinator, not one per request', async () => {
    const h = harness();
    const eos = createEosManager({ logger: silent, cluster: h.cluster, transactional: true, transactionalId: 'app-0' });
    await eos.initProducerId();
    for (let i = 0; i < 3; i++) {
      eos.beginTransaction();
      await eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: i }] }]);
      await eos.sendOffsets({ consumerGroupId: 'app', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: String(i) }] }] });
      await eos.commit();
    }
    expect(h.brokers['1']!.requests.filter((r) => r === 'endTxn')).toHaveLength(3);
    expect(h.state.lookups).toBe(2); // the transaction coordinator and the group coordinator, once each
  });

  const coordinatorErrors: Array<[string, () => Error]> = [
    ['NOT_COORDINATOR_FOR_GROUP (NOT_COORDINATOR)', () => createErrorFromCode(16)],
    ['GROUP_COORDINATOR_NOT_AVAILABLE (COORDINATOR_NOT_AVAILABLE)', () => createErrorFromCode(15)],
    ['GROUP_LOAD_IN_PROGRESS (COORDINATOR_LOAD_IN_PROGRESS)', () => createErrorFromCode(14)],
    ['a refused connection', () => new errors.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED', { broker: 'localhost:9091', code: 'ECONNREFUSED' })],
    ['a closed connection', () => new errors.KafkaJSConnectionClosedError!('Closed connection', { host: 'localhost', port: 9091 })],
    ['a request timeout', () => new errors.KafkaJSRequestTimeoutError!('Request EndTxn timed out', { broker: 'localhost:9091' })],
    ['a lock timeout (a broker connection that never comes up)', () => new errors.KafkaJSLockTimeout!('Timeout while acquiring lock')],
  ];

  it.each(coordinatorErrors)('after %s on the cached coordinator, the next lookup finds the new one', async (_name, error) => {
    const h = harness();
    const old = await h.cluster.findGroupCoordinator(txn());
    old.fail.endTxn = [error()];
    h.state.coordinator = 2; // the coordinator moved
    await expect(old.endTxn({ transactionalId: 'app-0' })).rejects.toThrow();
    expect(await h.cluster.findGroupCoordinator(txn())).toBe(h.brokers['2']);
    expect(h.state.lookups).toBe(2);
    expect(await h.cluster.findGroupCoordinator(txn())).toBe(h.brokers['2']); // and caches the new one
    expect(h.state.lookups).toBe(2);
  });

  it('kafkajs\' initProducerId retrier, told NOT_COORDINATOR_FOR_GROUP, retries on the new coordinator', async () => {
    const h = harness();
    await h.cluster.findGroupCoordinator(txn()); // cached: broker 1
    h.brokers['1']!.fail.initProducerId = [createErrorFromCode(16)];
    h.state.coordinator = 2;
    const eos = createEosManager({ logger: silent, cluster: h.cluster, transactional: true, transactionalId: 'app-0' });
    await eos.initProducerId();
    expect(h.brokers['1']!.requests).toEqual(['initProducerId']);
    expect(h.brokers['2']!.requests).toEqual(['initProducerId']);
  });

  it('kafkajs\' sendOffsets, failing on a moved group coordinator, fails the transaction; the retry finds the new one', async () => {
    const h = harness();
    const eos = createEosManager({ logger: silent, cluster: h.cluster, transactional: true, transactionalId: 'app-0' });
    await eos.initProducerId();
    eos.beginTransaction();
    const offsets = { consumerGroupId: 'app', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '1' }] }] };
    await eos.sendOffsets(offsets);
    h.brokers['1']!.fail.txnOffsetCommit = [createErrorFromCode(16)];
    h.state.coordinator = 2;
    // kafkajs 2.2.4 looks for NOT_COORDINATOR, a name its error table does not use: it bails.
    await expect(eos.sendOffsets(offsets)).rejects.toMatchObject({ type: 'NOT_COORDINATOR_FOR_GROUP' });
    expect((await h.cluster.findGroupCoordinator({ groupId: 'app' })).nodeId).toBe(2);
  });

  it('does not serve a broker gone from the metadata, replaced at the same node id, disconnected, or cached too long', async () => {
    let now = 1_000;
    const h = harness({ ttlMs: 30_000, now: () => now });
    const one = await h.cluster.findGroupCoordinator(txn());
    delete h.brokers['1'];
    h.state.coordinator = 2;
    expect(await h.cluster.findGroupCoordinator(txn())).toBe(h.brokers['2']);
    expect(h.state.lookups).toBe(2);

    const replacement = h.makeBroker(2);
    h.brokers['2'] = replacement; // kafkajs made a new Broker for node 2 (a new address)
    expect(await h.cluster.findGroupCoordinator(txn())).toBe(replacement);
    expect(h.state.lookups).toBe(3);

    replacement.connected = false;
    const lookupsBefore = h.state.lookups;
    await h.cluster.findGroupCoordinator(txn()); // kafkajs' findBroker would reconnect it: looked up again
    expect(h.state.lookups).toBe(lookupsBefore + 1);
    replacement.connected = true;

    await h.cluster.findGroupCoordinator(txn());
    now += 29_999;
    await h.cluster.findGroupCoordinator(txn());
    const beforeExpiry = h.state.lookups;
    now += 1;
    await h.cluster.findGroupCoordinator(txn());
    expect(h.state.lookups).toBe(beforeExpiry + 1);
    expect(one.nodeId).toBe(1);
  });

  it('keeps the coordinator after a success or an answer that says nothing of it (CONCURRENT_TRANSACTIONS, a fence); drops it after an unknown failure', async () => {
    const h = harness();
    const b = await h.cluster.findGroupCoordinator(txn());
    const addPartitions = (b as unknown as Record<string, (a: object) => Promise<unknown>>).addPartitionsToTxn!.bind(b);
    await addPartitions({});
    b.fail.addPartitionsToTxn = [createErrorFromCode(51), createErrorFromCode(47)]; // CONCURRENT_TRANSACTIONS, INVALID_PRODUCER_EPOCH
    await expect(addPartitions({})).rejects.toMatchObject({ type: 'CONCURRENT_TRANSACTIONS' });
    await expect(addPartitions({})).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });
    expect(await h.cluster.findGroupCoordinator(txn())).toBe(b);
    expect(h.state.lookups).toBe(1);
    b.fail.addPartitionsToTxn = [new Error('something no broker said')];
    await expect(addPartitions({})).rejects.toThrow();
    await h.cluster.findGroupCoordinator(txn());
    expect(h.state.lookups).toBe(2);
  });

  it('is idempotent', () => {
    const classes = freshClasses();
    expect(cacheCoordinators(classes)).toBe(true);
    const find = (classes.cluster.prototype as Record<string, unknown>).findGroupCoordinator;
    const endTxn = classes.broker.prototype.endTxn;
    expect(cacheCoordinators(classes)).toBe(true);
    expect((classes.cluster.prototype as Record<string, unknown>).findGroupCoordinator).toBe(find);
    expect(classes.broker.prototype.endTxn).toBe(endTxn);
  });

  it('leaves a kafkajs alone whose Cluster has no findGroupCoordinator or whose Broker lacks a coordinator request', () => {
    const noFind = { cluster: { prototype: {} }, broker: freshClasses().broker };
    const endTxn = noFind.broker.prototype.endTxn;
    expect(cacheCoordinators(noFind)).toBe(false);
    expect(noFind.broker.prototype.endTxn).toBe(endTxn);

    const classes = freshClasses();
    delete classes.broker.prototype.txnOffsetCommit;
    const find = (classes.cluster.prototype as Record<string, unknown>).findGroupCoordinator;
    const heartbeat = classes.broker.prototype.heartbeat;
    expect(cacheCoordinators(classes)).toBe(false);
    expect((classes.cluster.prototype as Record<string, unknown>).findGroupCoordinator).toBe(find);
    expect(classes.broker.prototype.heartbeat).toBe(heartbeat);
  });
});

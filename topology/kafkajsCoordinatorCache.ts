/**
 * A coordinator cache for kafkajs 2.2.4's clusters: one FindCoordinator per coordinator, not one
 * per transactional request.
 *
 * kafkajs' transactional producer (producer/eosManager) calls `cluster.findGroupCoordinator`,
 * which sends a FindCoordinator request every time, before each AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit (group coordinator) and EndTxn: about 4 of the 10 or 11
 * sequential requests of each of our transactions (one per task commit). The Java client keeps
 * its coordinators until one fails.
 *
 * The cache: per Cluster instance (each kafkajs producer, consumer and admin has its own) and per
 * (coordinator type, group or transactional id), the Broker that `findGroupCoordinator` returned.
 * A cached Broker is served only while all of these hold, else it is looked up again (kafkajs'
 * own method, with its retries and metadata refreshes):
 * - no request of a coordinator's kind (the Broker methods in COORDINATOR_REQUESTS) has failed
 *   on that Broker since it was cached with an error that says the coordinator moved or cannot
 *   be reached: an answer of NOT_COORDINATOR(_FOR_GROUP), (GROUP_)COORDINATOR_NOT_AVAILABLE or
 *   (GROUP|COORDINATOR)_LOAD_IN_PROGRESS (kafkajs 2.2.4 names them GROUP_*), or any failure that
 *   is no broker answer (connection refused or closed, request timeout, lock timeout...). Other
 *   answers (CONCURRENT_TRANSACTIONS, on the AddPartitionsToTxn of about one transaction in
 *   five here, right after the previous EndTxn; a fence) keep the entry: the coordinator answered. The Broker method counts the
 *   failure before it rethrows, so whatever catches it (kafkajs' retriers: initProducerId's,
 *   sendOffsets' and sendMessages', the consumer group's rejoin; or our TransactionalSender's
 *   abort and whole-transaction retry) finds the new coordinator on its next call;
 * - the Broker is still the one the cluster's metadata holds for its node id (a broker gone from
 *   the metadata, replaced at a new address, or dropped after a closed connection is not);
 * - it is connected (kafkajs reconnects it through a fresh lookup);
 * - it was cached less than `ttlMs` ago (30 s): a bound even if none of the above ever fires.
 * No caller therefore needs to drop an entry itself (the TransactionalSender does not): a stale
 * coordinator shows as a failed coordinator request, which drops the entry before anyone sees
 * the error; other failures (a produce, CONCURRENT_TRANSACTIONS, a fence) say nothing of the
 * coordinator; a task made again has a new producer, so a new cluster and an empty cache.
 *
 * What it changes: a coordinator that moves while its old broker still answers (a graceful
 * move; a dead broker fails the connection checks first) is found by one failed request instead
 * of by a lookup just before each request. The first is AddPartitionsToTxn, which kafkajs' send
 * retrier sends again to the new one; AddOffsetsToTxn or TxnOffsetCommit fail the transaction,
 * which our sender aborts and sends again whole (`transaction_retries`); EndTxn fails only if
 * the move falls inside one transaction, and then, as after any EndTxn failure (kafkajs cannot
 * abort from COMMITTING), the outcome is unknown and the task is made again.
 *
 * kafkajs' sendOffsets retrier looks for COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR, names
 * kafkajs 2.2.4's error table does not use (it says GROUP_COORDINATOR_NOT_AVAILABLE /
 * NOT_COORDINATOR_FOR_GROUP), so a moved group coordinator fails the transaction, which our
 * sender then retries whole: with this cache as without, the retry looks the coordinator up.
 *
 * Like kafkajsIdleTimer.ts, a start-up patch of kafkajs' classes (not its typed API): guarded
 * (a kafkajs without the expected methods is left alone) and idempotent.
 */
import { createRequire } from 'node:module';

/** The Broker methods whose requests go to a group or transaction coordinator. */
export const COORDINATOR_REQUESTS = [
  'initProducerId',
  'addPartitionsToTxn',
  'addOffsetsToTxn',
  'txnOffsetCommit',
  'endTxn',
  'joinGroup',
  'syncGroup',
  'heartbeat',
  'leaveGroup',
  'offsetCommit',
  'offsetFetch',
  'describeGroups',
] as const;

/** Broker answers that say the coordinator moved or is not ready: kafkajs 2.2.4's names, and the protocol's. */
export const COORDINATOR_MOVED = new Set([
  'NOT_COORDINATOR_FOR_GROUP',
  'NOT_COORDINATOR',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

/** Whether a failed coordinator request says its coordinator is stale: a move, or no broker answer at all. */
export function coordinatorStale(err: unknown): boolean {
  const type = (err as { type?: unknown } | null | undefined)?.type;
  return typeof type !== 'string' || COORDINATOR_MOVED.has(type);
}

/** How long a coordinator is served from the cache at most, without any failure. */
export const COORDINATOR_CACHE_TTL_MS = 30_000;

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

interface BrokerLike {
  nodeId?: number | string | null;
  isConnected?: () => boolean;
  [FAILURES]?: number;
}

interface ClusterLike {
  brokerPool?: { brokers?: Record<string, unknown> };
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<BrokerLike>;
}

export type ClusterClass = { prototype: object };
export type BrokerClass = { prototype: object };

interface Entry {
  broker: BrokerLike;
  at: number;
  failures: number;
}

const PATCHED = Symbol.for('artenic.kafkajs.coordinatorCache');
/** On a Broker: how many of its coordinator requests have failed saying the coordinator is stale. */
const FAILURES = Symbol.for('artenic.kafkajs.coordinatorFailures');

const caches = new WeakMap<object, Map<string, Entry>>();

/** kafkajs' Cluster and Broker classes (CommonJS, not part of its typed API). */
export function kafkajsClasses(): { cluster: ClusterClass; broker: BrokerClass } {
  const require = createRequire(import.meta.url);
  return {
    cluster: require('kafkajs/src/cluster/index.js') as ClusterClass,
    broker: require('kafkajs/src/broker/index.js') as BrokerClass,
  };
}

/** How many coordinators `cluster` holds in its cache (for tests and diagnostics). */
export function cachedCoordinators(cluster: object): number {
  return caches.get(cluster)?.size ?? 0;
}

function stillValid(cluster: ClusterLike, entry: Entry, now: number, ttlMs: number): boolean {
  const broker = entry.broker;
  if (now - entry.at >= ttlMs) return false;
  if ((broker[FAILURES] ?? 0) !== entry.failures) return false;
  if (typeof broker.isConnected !== 'function' || !broker.isConnected()) return false;
  const brokers = cluster.brokerPool?.brokers;
  return brokers !== undefined && broker.nodeId !== null && broker.nodeId !== undefined && brokers[String(broker.nodeId)] === broker;
}

/**
 * Makes kafkajs' `Cluster.findGroupCoordinator` answer from a per-cluster cache, which a failed
 * coordinator request on the cached Broker (and the other checks above) invalidates. Idempotent;
 * returns whether the classes are patched. Classes without `findGroupCoordinator` or one of the
 * Broker methods in COORDINATOR_REQUESTS are left as they are.
 */
export function cacheCoordinators(
  classes: { cluster: ClusterClass; broker: BrokerClass } = kafkajsClasses(),
  options: { ttlMs?: number; now?: () => number } = {},
): boolean {
  const clusterProto = classes.cluster.prototype as Partial<ClusterLike> & { [PATCHED]?: true };
  const brokerProto = classes.broker.prototype as Record<string, unknown> & { [PATCHED]?: true };
  if (clusterProto[PATCHED] && brokerProto[PATCHED]) return true;
  if (typeof clusterProto.findGroupCoordinator !== 'function') return false;
  if (COORDINATOR_REQUESTS.some((name) => typeof brokerProto[name] !== 'function')) return false;
  if (!brokerProto[PATCHED]) countFailures(brokerProto);
  if (!clusterProto[PATCHED]) cacheLookups(clusterProto as ClusterLike, options.ttlMs ?? COORDINATOR_CACHE_TTL_MS, options.now ?? Date.now);
  clusterProto[PATCHED] = true;
  brokerProto[PATCHED] = true;
  return true;
}

/** Wraps the Broker's coordinator requests: a failure that says the coordinator is stale marks every cache entry of this Broker stale, before it is rethrown. */
function countFailures(brokerProto: Record<string, unknown>): void {
  for (const name of COORDINATOR_REQUESTS) {
    const original = brokerProto[name] as AnyMethod;
    brokerProto[name] = async function coordinatorRequest(this: BrokerLike, ...args: unknown[]): Promise<unknown> {
      try {
        return await original.apply(this, args);
      } catch (err) {
        if (coordinatorStale(err)) this[FAILURES] = (this[FAILURES] ?? 0) + 1;
        throw err;
      }
    };
  }
}

/** Wraps `findGroupCoordinator`: a valid cached Broker, or kafkajs' own lookup, cached. */
function cacheLookups(clusterProto: ClusterLike, ttlMs: number, now: () => number): void {
  const find = clusterProto.findGroupCoordinator;
  clusterProto.findGroupCoordinator = async function findGroupCoordinator(this: ClusterLike, args: { groupId: string; coordinatorType?: number }): Promise<BrokerLike> {
    let cache = caches.get(this);
    if (!cache) caches.set(this, (cache = new Map()));
    const key = `${args.coordinatorType ?? 0}|${args.groupId}`;
    const hit = cache.get(key);
    if (hit && stillValid(this, hit, now(), ttlMs)) return hit.broker;
    cache.delete(key);
    const broker = await find.call(this, args);
    cache.set(key, { broker, at: now(), failures: broker[FAILURES] ?? 0 });
    return broker;
  };
}

/**
 * The key-to-partition functions of the Kafka clients in use, so the runtime can tell
 * where a key belongs whichever client published it.
 *
 * - murmur2: Java's `BuiltInPartitioner.partitionForKey` (and its DefaultPartitioner
 *   before 3.3), and kafkajs' DefaultPartitioner: `toPositive(murmur2(keyBytes)) % n`,
 *   seed 0x9747b28c. This service publishes its own keys with it.
 * - crc32: librdkafka's default `consistent_random` (Python's confluent-kafka, Go's
 *   confluent-kafka-go, .NET's Confluent.Kafka): `crc32(keyBytes) % n` with zlib's
 *   (IEEE 802.3) CRC-32 read as unsigned; a null or empty key goes to a random partition.
 *
 * Both are pure: a key (UTF-8 string or bytes) and a partition count in, a partition out.
 *
 * @example partitionOf('murmur2', 'job-42', 12) // the partition kafkajs and Java would pick
 * @see mispartitioned.ts, which uses it to find records on the wrong partition
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

export const PARTITIONERS = ['murmur2', 'crc32'] as const;
export type PartitionerName = (typeof PARTITIONERS)[number];

function bytesOf(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/**
 * Kafka's `Utils.murmur2` (clients/src/main/java/org/apache/kafka/common/utils/Utils.java),
 * as a signed 32-bit integer, bit for bit.
 */
export function murmur2(key: string | Uint8Array): number {
  const data = bytesOf(key);
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = ((data[i4] as number) | ((data[i4 + 1] as number) << 8) | ((data[i4 + 2] as number) << 16) | ((data[i4 + 3] as number) << 24)) | 0;
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  // Java's switch falls through from 3 to 2 to 1.
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not the absolute value). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** zlib's CRC-32 (IEEE), unsigned, as librdkafka's `rd_crc32`. */
export function crc32(key: string | Uint8Array): number {
  return zlibCrc32(bytesOf(key)) >>> 0;
}

/** Where a Java or kafkajs producer puts a keyed record. */
export function murmur2Partition(key: string | Uint8Array, partitions: number): number {
  checkPartitions(partitions);
  return toPositive(murmur2(key)) % partitions;
}

/** Where a librdkafka producer (`consistent_random`, its default) puts a record with a non-empty key. */
export function crc32Partition(key: string | Uint8Array, partitions: number): number {
  checkPartitions(partitions);
  return crc32(key) % partitions;
}

/** The partition `name` picks for a non-empty key. */
export function partitionOf(name: PartitionerName, key: string | Uint8Array, partitions: number): number {
  return name === 'murmur2' ? murmur2Partition(key, partitions) : crc32Partition(key, partitions);
}

function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partition count must be a positive integer, got ${partitions}`);
}

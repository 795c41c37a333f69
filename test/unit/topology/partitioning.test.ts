import { describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { crc32, crc32Partition, murmur2, murmur2Partition, partitionOf, toPositive } from '../../../topology/partitioning.ts';

/**
 * [key, Utils.murmur2(utf8), BuiltInPartitioner.partitionForKey(utf8, 4), the same for 12,
 * java.util.zip.CRC32(utf8)], printed once by a single-file Java program against
 * kafka-clients 4.1.1 (the broker's version). The first murmur2 values are also those of
 * Kafka's own UtilsTest.testMurmur2.
 */
const JAVA: ReadonlyArray<readonly [string, number, number, number, number]> = [
  ['', 275646681, 1, 9, 0],
  ['a', -1563381124, 0, 4, 3904355907],
  ['ab', 316155434, 2, 2, 2659403885],
  ['abc', 479470107, 3, 3, 891568578],
  ['21', -973932308, 0, 0, 4252452532],
  ['foobar', -790332482, 2, 6, 2666930069],
  ['a-little-bit-long-string', -985981536, 0, 8, 4000435554],
  ['a-little-bit-longer-string', -1486304829, 3, 11, 2277486890],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, 1, 5, 3769350433],
  ['job-42', 1873849057, 1, 1, 3515360591],
  ['job-0001', 1210918463, 3, 11, 2135044362],
  ['aws/us-east-1/p4d.24xlarge', -1902045734, 2, 6, 808571594],
  ['\u00fc-\u043a\u043b\u044e\u0447-\ud83d\ude42', -38875235, 1, 9, 3846836401],
];

describe('murmur2 (Kafka Java client, kafkajs DefaultPartitioner)', () => {
  it.each(JAVA)('%j hashes as Utils.murmur2 and partitions as BuiltInPartitioner', (key, hash, p4, p12) => {
    expect(murmur2(key)).toBe(hash);
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(hash);
    expect(murmur2Partition(key, 4)).toBe(p4);
    expect(murmur2Partition(key, 12)).toBe(p12);
    expect(partitionOf('murmur2', key, 12)).toBe(p12);
  });

  it('clears the sign bit rather than taking the absolute value', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  it('agrees with kafkajs DefaultPartitioner on 2,000 keys', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (let i = 0; i < 2000; i++) {
      const key = `job-${i.toString(36)}-${'x'.repeat(i % 5)}`;
      expect(murmur2Partition(key, 7)).toBe(partitioner({ topic: 't', partitionMetadata, message: { key, value: null } }));
    }
  });
});

describe('crc32 (librdkafka consistent_random: Python, Go, .NET clients)', () => {
  it('is zlib CRC-32: the check value of "123456789"', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it.each(JAVA)('%j hashes as java.util.zip.CRC32, partition = crc32 mod n', (key, _hash, _p4, _p12, crc) => {
    expect(crc32(key)).toBe(crc);
    if (key === '') return;
    expect(crc32Partition(key, 4)).toBe(crc % 4);
    expect(crc32Partition(Buffer.from(key, 'utf8'), 12)).toBe(crc % 12);
    expect(partitionOf('crc32', key, 12)).toBe(crc % 12);
  });

  it('puts many keys on another partition than murmur2 does', () => {
    let differ = 0;
    for (let i = 0; i < 1000; i++) if (crc32Partition(`job-${i}`, 4) !== murmur2Partition(`job-${i}`, 4)) differ++;
    // Independent hashes over 4 partitions disagree about 3 times in 4.
    expect(differ).toBeGreaterThan(650);
    expect(differ).toBeLessThan(850);
  });
});

describe('partition counts', () => {
  it('refuses a count that is not a positive integer', () => {
    expect(() => murmur2Partition('k', 0)).toThrow(/positive integer/);
    expect(() => crc32Partition('k', 1.5)).toThrow(/positive integer/);
  });
});

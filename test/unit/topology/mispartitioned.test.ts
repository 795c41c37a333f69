import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { checkPartition, keyJoinedInputs, ownPartition, reroutedTopic } from '../../../topology/mispartitioned.ts';
import { crc32Partition, murmur2Partition } from '../../../topology/partitioning.ts';
import type { Processor } from '../../../topology/processor.ts';

const PARTITIONS = 4;

function message(key: string | null, offset = '17'): KafkaMessage {
  return {
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from([0, 0, 0, 0, 9, 1, 2, 3]),
    timestamp: '1767225600000',
    attributes: 0,
    offset,
    headers: { trace: Buffer.from('abc') },
  } as KafkaMessage;
}

/** A key whose murmur2 and CRC32 partitions differ, and where each puts it. */
function splitKey(): { key: string; own: number; crc: number } {
  for (let i = 0; ; i++) {
    const key = `job-${i}`;
    const own = murmur2Partition(key, PARTITIONS);
    const crc = crc32Partition(key, PARTITIONS);
    if (own !== crc) return { key, own, crc };
  }
}

describe('checkPartition', () => {
  const policy = { action: 'reroute' as const, applicationId: 'app' };

  it('lets a record on its own (murmur2) partition through', () => {
    const { key, own } = splitKey();
    expect(checkPartition(message(key), { topic: 'job-outcome', partition: own, partitions: PARTITIONS }, policy)).toBeNull();
  });

  it('does not check records without a key or with an empty one', () => {
    expect(checkPartition(message(null), { topic: 't', partition: 0, partitions: PARTITIONS }, policy)).toBeNull();
    expect(checkPartition(message(''), { topic: 't', partition: 3, partitions: PARTITIONS }, policy)).toBeNull();
    expect(ownPartition(Buffer.alloc(0), PARTITIONS)).toBeNull();
  });

  it('reroutes a CRC32-placed record, bytes, headers and timestamp unchanged, to the partition of its key', () => {
    const { key, own, crc } = splitKey();
    const m = message(key, '42');
    const verdict = checkPartition(m, { topic: 'job-outcome', partition: crc, partitions: PARTITIONS }, policy);
    expect(verdict).toEqual({
      kind: 'reroute',
      topic: 'app-job-outcome-rerouted',
      partition: own,
      key: m.key,
      value: m.value,
      headers: m.headers,
      timestamp: '1767225600000',
      source: { topic: 'job-outcome', partition: crc, offset: '42' },
    });
  });

  it('dead-letters it as MISPARTITIONED with its bytes, offset and a reason naming both partitioners', () => {
    const { key, own, crc } = splitKey();
    const m = message(key, '5');
    const verdict = checkPartition(m, { topic: 'job-outcome', partition: crc, partitions: PARTITIONS }, { ...policy, action: 'dlq' });
    expect(verdict?.kind).toBe('dead-letter');
    if (verdict?.kind !== 'dead-letter') return;
    expect(verdict.code).toBe('MISPARTITIONED');
    expect(verdict.key).toBe(key);
    expect(verdict.raw).toEqual({ key: m.key, value: m.value, timestamp: 1767225600000, schemaId: 9 });
    expect(verdict.source).toEqual({ topic: 'job-outcome', partition: crc, offset: '5' });
    expect(verdict.reason).toContain(`belongs to partition ${own} of ${PARTITIONS}`);
    expect(verdict.reason).toContain(`arrived on partition ${crc}`);
    expect(verdict.reason).toMatch(/CRC32/);
  });

  it('does not blame CRC32 when the record is on a partition neither hash picks', () => {
    const { key, own, crc } = splitKey();
    const other = [0, 1, 2, 3].find((p) => p !== own && p !== crc) as number;
    const verdict = checkPartition(message(key), { topic: 't', partition: other, partitions: PARTITIONS }, { ...policy, action: 'dlq' });
    expect(verdict?.kind === 'dead-letter' && verdict.reason).not.toMatch(/CRC32/);
  });

  it('follows the partition count of the topic', () => {
    const key = 'aws/us-east-1/p4d.24xlarge';
    // Java's BuiltInPartitioner: 2 of 4, 6 of 12.
    expect(ownPartition(Buffer.from(key), 4)).toBe(2);
    expect(ownPartition(Buffer.from(key), 12)).toBe(6);
    expect(checkPartition(message(key), { topic: 't', partition: 2, partitions: 12 }, policy)).toMatchObject({ kind: 'reroute', partition: 6 });
  });
});

describe('reroutedTopic and keyJoinedInputs', () => {
  it('names the rerouted topic after the application and the input', () => {
    expect(reroutedTopic('artenic-optimizer', 'job-outcome')).toBe('artenic-optimizer-job-outcome-rerouted');
  });

  it('checks the inputs of stateful processors and of processors that join a repartition, not of stateless ones', () => {
    const p = (name: string, inputs: Processor['inputs'], stateful: boolean, repartitions = false): Processor => ({
      name,
      inputs,
      stores: stateful ? [{ name: `${name}-store` }] : [],
      ...(repartitions ? { repartitions: [{ name: 'r', from: 'relevance-labels', key: () => 'k' }] } : {}),
      process: () => undefined,
    });
    const joined = keyJoinedInputs([p('feedback', ['job-dispatch', 'job-outcome'], true), p('echo', ['recommendation-requests'], false), p('join', ['instance-catalog'], false, true)]);
    expect([...joined].sort()).toEqual(['instance-catalog', 'job-dispatch', 'job-outcome']);
  });
});

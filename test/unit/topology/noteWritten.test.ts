import { describe, expect, it } from 'vitest';
import type { RecordMetadata } from 'kafkajs';
import { noteWritten } from '../../../topology/transactionalSender.ts';

const md = (topicName: string, partition: number, baseOffset: string): RecordMetadata => ({ topicName, partition, errorCode: 0, baseOffset });

describe('noteWritten (where a transaction\'s changelog records landed)', () => {
  it('gives, per changelog partition, the offset after the last record and the records sent, across requests', () => {
    const written = new Map<string, { next: bigint; records: number }>();
    noteWritten(
      written,
      [
        { topic: 'app-s-changelog', messages: [{ key: 'a', value: '1', partition: 2 }, { key: 'b', value: '2', partition: 2 }] },
        { topic: 'labels', messages: [{ key: 'x', value: 'y' }] },
      ],
      [md('app-s-changelog', 2, '100'), md('labels', 0, '7')],
    );
    noteWritten(written, [{ topic: 'app-s-changelog', messages: [{ key: 'c', value: '3', partition: 2 }] }], [md('app-s-changelog', 2, '102')]);
    expect(written).toEqual(new Map([['app-s-changelog|2', { next: 103n, records: 3 }]]));
  });

  it('ignores a partition the broker gave no base offset for', () => {
    const written = new Map<string, { next: bigint; records: number }>();
    noteWritten(written, [{ topic: 't', messages: [{ key: 'a', value: '1', partition: 0 }] }], [{ topicName: 't', partition: 0, errorCode: 0 }]);
    expect(written.size).toBe(0);
  });
});

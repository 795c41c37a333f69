/**
 * Consumer lag against the last stable offset, commit markers not counted: the arithmetic of
 * `partitionLag`, and the positions a task's PartitionGroup reports for it.
 */
import { describe, expect, it } from 'vitest';
import { partitionLag } from '../../../topology/admin.ts';
import { PartitionGroup, type BufferedRecord } from '../../../topology/partitionGroup.ts';

const record = (offset: number, eventTime: number): BufferedRecord => ({ offset: BigInt(offset), eventTime, decoded: { ok: false } as never });

describe('partitionLag', () => {
  it('an idle, caught-up owner of a transactional topic reads 0: the markers past its commit are not lag', () => {
    // Records 0..9 committed (next = 10); the transaction's marker sits at 10; the LSO is 11; the consumer fetched past it.
    expect(partitionLag(10n, 11n, { received: 11n, pending: 0 })).toBe(0);
    // Without the owner's position, the marker counts: what `end - committed` reads.
    expect(partitionLag(10n, 11n)).toBe(1);
  });

  it('counts records fetched and not committed, and what is not fetched yet', () => {
    // Committed up to 10, 5 records fetched and pending, fetched up to 16 (a marker at 15), LSO 30.
    expect(partitionLag(10n, 30n, { received: 16n, pending: 5 })).toBe(5 + 14);
  });

  it('against the last stable offset: an open transaction past it is not lag yet', () => {
    // High watermark 40, but a transaction opened at 30 is not committed: the LSO is 30.
    expect(partitionLag(30n, 30n, { received: 30n, pending: 0 })).toBe(0);
  });

  it('ignores a fetch position behind the commit (a stale one, after a rebalance)', () => {
    expect(partitionLag(20n, 25n, { received: 12n, pending: 3 })).toBe(5);
  });
});

describe('PartitionGroup positions', () => {
  it('reports the fetch position past markers and the records buffered or taken but not committed', () => {
    const g = new PartitionGroup({ alignedTopics: new Set(['a']), maxTaskIdleMs: 1000 });
    g.observeStart('a', 0n, 0n);
    g.add('a', [record(0, 1), record(1, 2), record(2, 3)], 3n, 4n);
    expect(g.positions().get('a')).toEqual({ received: 3n, pending: 3 });
    expect(g.take(10, 0, 1).records).toHaveLength(3);
    expect(g.positions().get('a')?.pending).toBe(3);
    g.markCommitted();
    expect(g.positions().get('a')).toEqual({ received: 3n, pending: 0 });
    // A fetch of only the commit marker at 3 moves the position to 4, past the LSO's marker.
    g.observePosition('a', 4n, 4n);
    expect(g.positions().get('a')).toEqual({ received: 4n, pending: 0 });
    expect(partitionLag(3n, 4n, g.positions().get('a'))).toBe(0);
  });
});

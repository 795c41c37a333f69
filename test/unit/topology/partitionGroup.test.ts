import { describe, expect, it } from 'vitest';
import { PartitionGroup, type BufferedRecord } from '../../../topology/partitionGroup.ts';
import type { Decoded } from '../../../topology/operators/decodeRecords.ts';

const D = 'dispatches';
const O = 'outcomes';
const R = 'repartition';

/** Records at offsets from `first`, with these event times. */
function recs(first: number, times: number[]): BufferedRecord[] {
  return times.map((eventTime, i) => ({ decoded: { ok: true } as unknown as Decoded, eventTime, offset: BigInt(first + i) }));
}

const group = (idleMs = 1_000, onIdleExpired?: (t: string) => void) => new PartitionGroup({ alignedTopics: new Set([D, O]), maxTaskIdleMs: idleMs, onIdleExpired });

describe('PartitionGroup', () => {
  it('takes records in event-time order across topics, offset order within each', () => {
    const g = group();
    g.add(D, recs(0, [10, 30, 50]), 3n, 3n);
    g.add(O, recs(0, [20, 40, 60]), 3n, 3n);
    const { records } = g.take(100, 0);
    expect(records.map((r) => `${r.topic}@${r.eventTime}`)).toEqual(['dispatches@10', 'outcomes@20', 'dispatches@30', 'outcomes@40', 'dispatches@50', 'outcomes@60']);
    expect(g.totalBuffered).toBe(0);
  });

  it('stops while an input behind its end has nothing buffered, and goes on without it after the idle bound', () => {
    const expired: string[] = [];
    const g = group(1_000, (t) => expired.push(t));
    g.observeStart(D, 0n, 500n); // a backlog of 500 dispatches, none fetched yet
    g.add(O, recs(0, [1, 2, 3]), 3n, 3n);
    const first = g.take(100, 10_000, 7);
    expect(first.records).toEqual([]);
    expect(first.waitingOn).toBe(D);
    expect(first.waitMs).toBe(1_000);
    expect(g.take(100, 10_400, 9).waitMs).toBe(600);
    // The time is up, but the consumer fetched only once since: a busy consumer is no idle input.
    const busy = g.take(100, 11_000, 8);
    expect(busy.records).toEqual([]);
    expect(busy.waitMs).toBe(0);
    expect(expired).toEqual([]);
    const late = g.take(100, 11_000, 9);
    expect(late.records.map((r) => r.eventTime)).toEqual([1, 2, 3]);
    expect(expired).toEqual([D]);
    // Once it delivers, it holds the others back again.
    g.add(D, recs(0, [5]), 1n, 500n);
    g.add(O, recs(3, [4, 6]), 5n, 5n);
    expect(g.take(100, 11_001, 9).records.map((r) => r.eventTime)).toEqual([4, 5]);
  });

  it('an input that is caught up (a commit marker at most behind) or a repartition topic holds nothing back', () => {
    const g = group();
    g.observeStart(D, 10n, 11n); // one offset left: a transaction marker
    g.add(O, recs(0, [1, 2]), 2n, 2n);
    g.add(R, recs(0, [0]), 1n, 9n); // a repartition topic behind its end
    const taken = g.take(100, 0);
    expect(taken.records.map((r) => `${r.topic}@${r.eventTime}`)).toEqual(['repartition@0', 'outcomes@1', 'outcomes@2']);
    expect(taken.waitMs).toBeUndefined();
  });

  it('a fetch of only control records moves the position, so the input no longer holds the others back', () => {
    const g = group();
    g.add(D, recs(0, [1]), 1n, 3n);
    g.add(O, recs(0, [2, 3]), 2n, 2n);
    expect(g.take(100, 0).records.map((r) => r.eventTime)).toEqual([1]);
    g.observePosition(D, 3n, 3n);
    expect(g.take(100, 0).records.map((r) => r.eventTime)).toEqual([2, 3]);
  });

  it('records that failed to decode (no event time) go first; take() honours max', () => {
    const g = group();
    g.add(D, recs(0, [5, Number.NEGATIVE_INFINITY, 7]), 3n, 3n);
    g.add(O, recs(0, [6]), 1n, 1n);
    expect(g.take(2, 0).records.map((r) => r.eventTime)).toEqual([5, Number.NEGATIVE_INFINITY]);
    expect(g.take(2, 0).records.map((r) => r.eventTime)).toEqual([6, 7]);
  });

  it('commits per topic the offset after the last record taken; uncommitted takes are not counted', () => {
    const g = group();
    g.observeStart(D, 100n, 103n);
    g.observeStart(O, 200n, 202n);
    g.add(D, recs(100, [1, 3, 5]), 103n, 103n);
    g.add(O, recs(200, [2, 4]), 202n, 202n);
    g.take(3, 0);
    expect([...g.committedPositions()]).toEqual([
      [D, 100n],
      [O, 200n],
    ]);
    g.markCommitted();
    expect([...g.committedPositions()]).toEqual([
      [D, 102n],
      [O, 201n],
    ]);
  });

  it('under a backlog fetched unevenly, consumption stays aligned in event time', () => {
    // Dispatches at t = 0, 10, 20, …; each outcome 35 later. Outcomes arrive in fetches of
    // 400, dispatches in fetches of 50: without alignment outcomes would run far ahead.
    const n = 2_000;
    const dispatchTimes = Array.from({ length: n }, (_, i) => i * 10);
    const outcomeTimes = dispatchTimes.map((t) => t + 35);
    const g = group();
    g.observeStart(D, 0n, BigInt(n));
    g.observeStart(O, 0n, BigInt(n));
    let d = 0;
    let o = 0;
    let maxSkew = 0;
    let lastD = Number.NEGATIVE_INFINITY;
    let lastO = Number.NEGATIVE_INFINITY;
    for (let round = 0; round < 1_000 && (d < n || o < n || g.totalBuffered > 0); round++) {
      if (d < n) {
        const k = Math.min(50, n - d);
        g.add(D, recs(d, dispatchTimes.slice(d, d + k)), BigInt(d + k), BigInt(n));
        d += k;
      }
      if (o < n && g.buffered(O) < 1_000) {
        const k = Math.min(400, n - o);
        g.add(O, recs(o, outcomeTimes.slice(o, o + k)), BigInt(o + k), BigInt(n));
        o += k;
      }
      for (const r of g.take(100, round).records) {
        if (r.topic === D) lastD = r.eventTime;
        else lastO = r.eventTime;
        if (Number.isFinite(lastD) && Number.isFinite(lastO)) maxSkew = Math.max(maxSkew, Math.abs(lastO - lastD));
      }
    }
    expect(g.totalBuffered).toBe(0);
    expect(lastD).toBe(dispatchTimes[n - 1]);
    expect(lastO).toBe(outcomeTimes[n - 1]);
    // Every outcome is taken after its dispatch, and the two never drift further apart than one gap.
    expect(maxSkew).toBeLessThanOrEqual(45);
  });
});

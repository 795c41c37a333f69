import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../common/logger.ts';
import { buildLoggedStore, type LoggedStore } from '../../../../topology/stores/index.ts';
import { defaultStateDir, TaskSnapshots, type ChangelogBounds, type SnapshotSource } from '../../../../topology/state/taskSnapshots.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const logger = createLogger('silent');

function task(partition: number, names = ['task-meta', 'pending']): SnapshotSource & { stores: Map<string, LoggedStore<unknown>> } {
  return { partition, stores: new Map(names.map((n) => [n, buildLoggedStore<unknown>(n)])) };
}

function manager(over: Partial<ConstructorParameters<typeof TaskSnapshots>[0]> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'artenic-snapshots-test-'));
  dirs.push(dir);
  let clock = 1_000_000;
  const events: Record<string, number> = {};
  const snapshots = new TaskSnapshots({
    enabled: true,
    dir,
    applicationId: 'app',
    intervalMs: 30_000,
    minRecords: 3,
    logger,
    now: () => clock,
    onEvent: (what, n) => {
      events[what] = (events[what] ?? 0) + n;
    },
    ...over,
  });
  return { snapshots, events, dir, tick: (ms: number) => (clock += ms) };
}

const bounds = (low: bigint, high: bigint) => (): ChangelogBounds => ({ low, high });

/** Puts and "commits": takes the changes as a transaction would, and reports the offsets it wrote. */
function commitPuts(t: ReturnType<typeof task>, store: string, kv: Array<[string, unknown]>): number {
  const s = t.stores.get(store) as LoggedStore<unknown>;
  for (const [k, v] of kv) s.store.put(k, v);
  return s.changelog.takeChanges().length;
}

describe('TaskSnapshots', () => {
  it('writes a snapshot after a commit once both the interval and the change count are reached, and a restart loads it with its offsets', async () => {
    const { snapshots, events, tick } = manager();
    const t = task(0);
    snapshots.restored(0, new Map([['task-meta', 10n], ['pending', 20n]]), 0, true);
    let n = commitPuts(t, 'pending', [['a', 1], ['b', 2]]);
    await snapshots.committed(t, new Map([['pending', 22n]]), n);
    tick(60_000);
    await snapshots.flush();
    expect(events.snapshots_written).toBeUndefined(); // 2 changes < minRecords 3
    n = commitPuts(t, 'pending', [['c', { deep: [1, 2] }]]);
    await snapshots.committed(t, new Map([['pending', 23n]]), n);
    await snapshots.flush();
    expect(events.snapshots_written).toBe(1);

    const restarted = manager({ dir: dirname(snapshots.dir) });
    const fresh = task(0);
    const load = await restarted.snapshots.load(fresh, bounds(0n, 30n));
    expect(load?.offsets).toEqual(new Map([['task-meta', 10n], ['pending', 23n]]));
    expect(load?.entries).toBe(3);
    expect([...(fresh.stores.get('pending') as LoggedStore<unknown>).store.entries()]).toEqual([['a', 1], ['b', 2], ['c', { deep: [1, 2] }]]);
    // Loading logs nothing to the changelog again.
    expect((fresh.stores.get('pending') as LoggedStore<unknown>).changelog.pendingChanges).toBe(0);
  });

  it('captures a snapshot that falls due while the previous one is being written, and writes it after; one more waits for the next commit', async () => {
    const { snapshots, events } = manager({ intervalMs: 0, minRecords: 1 });
    const t = task(4);
    snapshots.restored(4, new Map([['task-meta', 0n], ['pending', 0n]]), 0, false);
    // Three commits in a row, none waiting for a file write: the first is writing, the second waits, the third is skipped.
    await snapshots.committed(t, new Map([['pending', 1n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.committed(t, new Map([['pending', 2n]]), commitPuts(t, 'pending', [['b', 2]]));
    await snapshots.committed(t, new Map([['pending', 3n]]), commitPuts(t, 'pending', [['c', 3]]));
    await snapshots.flush();
    expect(events.snapshots_written).toBe(2);
    const load = await manager({ dir: dirname(snapshots.dir) }).snapshots.load(task(4), bounds(0n, 10n));
    expect(load?.offsets.get('pending')).toBe(2n); // the second commit's state, written after the first
    // The skipped commit's change stays counted: the next commit captures it.
    await snapshots.committed(t, new Map([['pending', 4n]]), commitPuts(t, 'pending', [['d', 4]]));
    await snapshots.flush();
    expect(events.snapshots_written).toBe(3);
    const last = await manager({ dir: dirname(snapshots.dir) }).snapshots.load(task(4), bounds(0n, 10n));
    expect(last?.offsets.get('pending')).toBe(4n);
    expect(last?.entries).toBe(4);
  });

  it('does not snapshot before the interval passed since the previous one', async () => {
    const { snapshots, events } = manager({ minRecords: 1 });
    const t = task(1);
    snapshots.restored(1, new Map([['task-meta', 0n], ['pending', 0n]]), 0, true);
    await snapshots.committed(t, new Map([['pending', 5n]]), commitPuts(t, 'pending', [['a', 1], ['b', 1]]));
    await snapshots.flush();
    expect(events.snapshots_written).toBeUndefined();
  });

  it('never captures a store holding writes no transaction carried', async () => {
    const { snapshots, events, tick } = manager({ minRecords: 1, intervalMs: 0 });
    const t = task(2);
    snapshots.restored(2, new Map([['task-meta', 0n], ['pending', 0n]]), 0, true);
    const n = commitPuts(t, 'pending', [['a', 1]]);
    (t.stores.get('pending') as LoggedStore<unknown>).store.put('uncommitted', 9); // processed, not committed
    tick(1);
    await snapshots.committed(t, new Map([['pending', 2n]]), n);
    await snapshots.close([t]);
    expect(events.snapshots_written).toBeUndefined();
    expect(existsSync(snapshots.pathOf(2))).toBe(false);
  });

  it('after a full restore the first commit snapshots when the tail was long enough', async () => {
    const { snapshots, events } = manager({ minRecords: 100 });
    const t = task(3);
    snapshots.restored(3, new Map([['task-meta', 4n], ['pending', 500n]]), 499, false);
    await snapshots.committed(t, new Map([['pending', 502n]]), commitPuts(t, 'pending', [['x', 1]]));
    await snapshots.flush();
    expect(events.snapshots_written).toBe(1);
  });

  it('writes a final snapshot on close when the task changed since its last one', async () => {
    const { snapshots, events } = manager({ minRecords: 1_000 });
    const t = task(4);
    snapshots.restored(4, new Map([['task-meta', 0n], ['pending', 0n]]), 0, true);
    await snapshots.committed(t, new Map([['pending', 2n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.close([t]);
    expect(events.snapshots_written).toBe(1);
    const again = manager({ dir: dirname(snapshots.dir) });
    expect((await again.snapshots.load(task(4), bounds(0n, 2n)))?.offsets.get('pending')).toBe(2n);
  });

  it('ignores and deletes a snapshot whose offset is past the changelog end (stale or foreign)', async () => {
    const { snapshots, events } = manager({ minRecords: 1 });
    const t = task(5);
    snapshots.restored(5, new Map([['task-meta', 0n], ['pending', 0n]]), 0, false);
    await snapshots.committed(t, new Map([['pending', 1_000n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.flush();
    expect(existsSync(snapshots.pathOf(5))).toBe(true);
    const fresh = task(5);
    // The changelog was recreated: it ends at 10.
    expect(await snapshots.load(fresh, bounds(0n, 10n))).toBeNull();
    expect((fresh.stores.get('pending') as LoggedStore<unknown>).store.size).toBe(0);
    expect(existsSync(snapshots.pathOf(5))).toBe(false);
    expect(events.snapshots_discarded).toBe(1);
  });

  it('ignores a snapshot whose offset is before the changelog start', async () => {
    const { snapshots } = manager({ minRecords: 1 });
    const t = task(6);
    snapshots.restored(6, new Map([['task-meta', 0n], ['pending', 0n]]), 0, false);
    await snapshots.committed(t, new Map([['pending', 5n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.flush();
    expect(await snapshots.load(task(6), (s) => (s === 'pending' ? { low: 100n, high: 200n } : { low: 0n, high: 200n }))).toBeNull();
  });

  it('ignores a snapshot of another application or partition', async () => {
    const { snapshots } = manager({ minRecords: 1 });
    const t = task(7);
    snapshots.restored(7, new Map([['task-meta', 0n], ['pending', 0n]]), 0, false);
    await snapshots.committed(t, new Map([['pending', 2n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.flush();
    // A file copied into another application's directory, and one renamed to another partition.
    const other = manager({ dir: dirname(snapshots.dir), applicationId: 'someone-else' });
    mkdirSync(other.snapshots.dir, { recursive: true });
    copyFileSync(snapshots.pathOf(7), other.snapshots.pathOf(7));
    expect(await other.snapshots.load(task(7), bounds(0n, 10n))).toBeNull();
    expect(existsSync(other.snapshots.pathOf(7))).toBe(false);
    copyFileSync(snapshots.pathOf(7), snapshots.pathOf(8));
    expect(await snapshots.load(task(8), bounds(0n, 10n))).toBeNull();
    expect(await snapshots.load(task(7), bounds(0n, 10n))).not.toBeNull();
  });

  it('returns null for a missing file, and discards one whose checksum fails', async () => {
    const { snapshots, events } = manager({ minRecords: 1 });
    expect(await snapshots.load(task(8), bounds(0n, 10n))).toBeNull();
    expect(events.snapshots_discarded).toBeUndefined();
    const t = task(8);
    snapshots.restored(8, new Map([['task-meta', 0n], ['pending', 0n]]), 0, false);
    await snapshots.committed(t, new Map([['pending', 2n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.flush();
    const path = snapshots.pathOf(8);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"a"', '"b"'));
    expect(await snapshots.load(task(8), bounds(0n, 10n))).toBeNull();
    expect(existsSync(path)).toBe(false);
    expect(events.snapshots_discarded).toBe(1);
  });

  it('deletes the snapshot of a corrupted task, after a write in flight finished', async () => {
    const { snapshots } = manager({ minRecords: 1 });
    const t = task(9);
    snapshots.restored(9, new Map([['task-meta', 0n], ['pending', 0n]]), 0, false);
    await snapshots.committed(t, new Map([['pending', 2n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.discard(9, 'transaction failed');
    await snapshots.flush();
    expect(existsSync(snapshots.pathOf(9))).toBe(false);
  });

  it('restores stores the snapshot lacks from the beginning (a store added since)', async () => {
    const { snapshots } = manager({ minRecords: 1 });
    const t = task(10, ['task-meta']);
    snapshots.restored(10, new Map([['task-meta', 3n]]), 0, false);
    await snapshots.committed(t, new Map([['task-meta', 4n]]), commitPuts(t, 'task-meta', [['stream-time', 5]]));
    await snapshots.flush();
    const load = await snapshots.load(task(10, ['task-meta', 'pending']), bounds(0n, 10n));
    expect(load?.offsets).toEqual(new Map([['task-meta', 4n]]));
  });

  it('reads and writes nothing when disabled', async () => {
    const { snapshots, events } = manager({ enabled: false, minRecords: 1, intervalMs: 0 });
    const t = task(11);
    snapshots.restored(11, new Map([['task-meta', 0n], ['pending', 0n]]), 10, false);
    await snapshots.committed(t, new Map([['pending', 2n]]), commitPuts(t, 'pending', [['a', 1]]));
    await snapshots.close([t]);
    expect(events).toEqual({});
    expect(existsSync(snapshots.pathOf(11))).toBe(false);
    expect(await snapshots.load(t, bounds(0n, 10n))).toBeNull();
  });

  it('defaults to <tmpdir>/artenic-streams/<applicationId>', () => {
    expect(defaultStateDir('my-app')).toBe(join(tmpdir(), 'artenic-streams', 'my-app'));
    expect(new TaskSnapshots({ enabled: true, dir: null, applicationId: 'my-app', intervalMs: 1, minRecords: 1, logger }).dir).toBe(defaultStateDir('my-app'));
    expect(new TaskSnapshots({ enabled: true, dir: '/var/lib/artenic', applicationId: 'my-app', intervalMs: 1, minRecords: 1, logger }).dir).toBe('/var/lib/artenic/my-app');
  });
});

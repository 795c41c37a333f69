/**
 * Per-task snapshots of committed state, so that a restart restores only the changelog
 * tail (Kafka Streams' checkpoint file, `ProcessorStateManager`'s part of it).
 *
 * Lifecycle, for each task (one partition):
 * 1. `load(task, bounds)` before the changelog restore: a valid snapshot fills the task's
 *    stores and says, per store, from which offset the changelog must still be read. A
 *    missing, unreadable or corrupted file (checksum), one of another application or
 *    partition, or one whose offset lies outside the changelog (past its end: the topic
 *    was recreated or the file is foreign; before its start: the records in between are
 *    gone) is ignored, and deleted when it is bad: the caller restores from the beginning.
 * 2. `restored(partition, positions, tailRecords)` once the restore reached its barriers:
 *    the state now covers every changelog record before `positions`.
 * 3. `committed(task, positions, changes)` after each transaction that committed: the state
 *    holds committed writes only, so it may be captured. It is, when at least
 *    `intervalMs` passed since the task's last snapshot and at least `minRecords` changes
 *    accumulated since (restored tail records count as changes). The entries are
 *    serialised synchronously (a consistent view) and written in the background. A snapshot
 *    due while the previous one is still being written is captured all the same and written
 *    after it (at most one waits: a disk slower than the commits skips captures, never piles
 *    them up), so a slow write does not leave a busy commit's changes in the restore tail.
 * 4. `discard(partition)` when the task is corrupted (a transaction failed): its file goes.
 *    `forget(partition)` when the task merely leaves this instance: the file stays.
 * 5. `close(tasks)` on a clean shutdown, after the last commit: a final snapshot of every
 *    task that changed, then every write finishes.
 *
 * Under exactly-once a snapshot never holds an uncommitted write: it is only taken right
 * after a commit (or on close after the last one), and never while a store has changes no
 * transaction has carried yet (`pendingChanges`).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.ts';
import type { LoggedStore } from '../stores/index.ts';
import { deleteSnapshotFile, readSnapshotFile, serializeSnapshot, writeSnapshotFile, type StoreToSnapshot } from './checkpoint.ts';

export interface TaskSnapshotOptions {
  /** False: nothing is read or written (every restore reads the whole changelog). */
  enabled: boolean;
  /** Root of the state directories (Kafka Streams' state.dir); the files go to `<dir>/<applicationId>/`. Null: `<os.tmpdir()>/artenic-streams`. */
  dir: string | null;
  applicationId: string;
  intervalMs: number;
  minRecords: number;
  logger: Logger;
  now?: () => number;
  /** Counts runtime events: snapshots_written, snapshots_loaded, snapshots_discarded, snapshot_write_failures. */
  onEvent?: (what: string, n: number) => void;
}

/** What a snapshot needs of a task; `StreamTask` is one. */
export interface SnapshotSource {
  readonly partition: number;
  readonly stores: ReadonlyMap<string, LoggedStore<unknown>>;
}

/** A changelog partition's log start offset and end offset (high watermark). */
export interface ChangelogBounds {
  low: bigint;
  high: bigint;
}

export interface SnapshotLoad {
  /** Per store in the snapshot: the next changelog offset to read. Stores absent here restore from the beginning. */
  offsets: Map<string, bigint>;
  entries: number;
  writtenAt: number;
}

interface TaskState {
  /** Per store: every changelog record before this offset is reflected in the task's state. */
  positions: Map<string, bigint>;
  /** Changes (changelog records) the state holds that the latest snapshot does not. */
  changes: number;
  lastSnapshotAt: number;
}

/** Where an application's task snapshots go: `<stateDir>/<applicationId>`, by default under `<os.tmpdir()>/artenic-streams`. */
export function defaultStateDir(applicationId: string, stateDir: string | null = null): string {
  return join(stateDir ?? join(tmpdir(), 'artenic-streams'), applicationId);
}

export class TaskSnapshots {
  readonly dir: string;
  private readonly tasks = new Map<number, TaskState>();
  /** Per partition: the write (or delete) in progress; the next one for that partition waits for it. */
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Per partition: snapshot writes captured and not yet finished (the one writing, and at most one waiting). */
  private readonly unwritten = new Map<number, number>();
  private readonly now: () => number;

  constructor(private readonly options: TaskSnapshotOptions) {
    this.dir = defaultStateDir(options.applicationId, options.dir);
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  pathOf(partition: number): string {
    return join(this.dir, `task-${partition}.snapshot.jsonl`);
  }

  /**
   * Fills the task's stores from its snapshot when there is a valid one; returns from which
   * offset each store's changelog must still be read, or null (restore from the beginning).
   * `bounds` gives the changelog partition's bounds for a store name.
   */
  async load(task: SnapshotSource, bounds: (store: string) => ChangelogBounds | undefined): Promise<SnapshotLoad | null> {
    if (!this.options.enabled) return null;
    await this.inFlight.get(task.partition);
    const path = this.pathOf(task.partition);
    const read = await readSnapshotFile(path);
    if (!read.ok) {
      if (read.reason !== 'missing') await this.drop(task.partition, `${read.reason}${read.detail ? `: ${read.detail}` : ''}`);
      return null;
    }
    const { header, stores } = read.snapshot;
    const problem =
      header.applicationId !== this.options.applicationId
        ? `written by application ${header.applicationId}`
        : header.partition !== task.partition
          ? `written for partition ${header.partition}`
          : staleStore(stores, task, bounds);
    if (problem) {
      await this.drop(task.partition, problem);
      return null;
    }
    const offsets = new Map<string, bigint>();
    let entries = 0;
    for (const [name, loaded] of stores) {
      const target = task.stores.get(name);
      if (!target) continue; // a store the topology no longer has
      for (const [key, value] of loaded.entries) target.changelog.restoreValue(key, value);
      entries += loaded.entries.length;
      offsets.set(name, loaded.offset);
    }
    this.options.onEvent?.('snapshots_loaded', 1);
    return { offsets, entries, writtenAt: header.writtenAt };
  }

  /** The restore reached its barriers: the state covers every changelog record before `positions`; `tailRecords` of them are in no snapshot yet. */
  restored(partition: number, positions: ReadonlyMap<string, bigint>, tailRecords: number, fromSnapshot: boolean): void {
    this.tasks.set(partition, {
      positions: new Map(positions),
      changes: tailRecords,
      // After a full restore the first commit may snapshot at once (when the tail is long enough).
      lastSnapshotAt: fromSnapshot ? this.now() : Number.NEGATIVE_INFINITY,
    });
  }

  /**
   * A transaction of this task committed: `positions` (per store, the offset after the last
   * changelog record it wrote) and `changes` (changelog records it wrote). Captures and
   * writes a snapshot in the background when one is due; resolves once the state is
   * captured (the caller must not change the stores before).
   */
  async committed(task: SnapshotSource, positions: ReadonlyMap<string, bigint>, changes: number): Promise<void> {
    const state = this.tasks.get(task.partition);
    if (!state) return;
    for (const [store, next] of positions) if (next > (state.positions.get(store) ?? -1n)) state.positions.set(store, next);
    state.changes += changes;
    if (!this.options.enabled || state.changes < this.options.minRecords || this.now() - state.lastSnapshotAt < this.options.intervalMs) return;
    if ((this.unwritten.get(task.partition) ?? 0) >= 2) return; // one writing, one waiting: the next commit tries again
    await this.snapshot(task, state);
  }

  /** The task was corrupted: its snapshot file is deleted (the next restore reads the whole changelog). */
  discard(partition: number, reason: string): Promise<void> {
    this.tasks.delete(partition);
    if (!this.options.enabled) return Promise.resolve();
    return this.drop(partition, reason);
  }

  /** The task left this instance (a rebalance); its file stays for when it comes back. */
  forget(partition: number): void {
    this.tasks.delete(partition);
  }

  /** Clean shutdown, after the last commit: a snapshot of every task that changed since its last one, then waits for every write. */
  async close(tasks: Iterable<SnapshotSource>): Promise<void> {
    if (this.options.enabled) {
      for (const task of tasks) {
        const state = this.tasks.get(task.partition);
        if (!state || state.changes === 0) continue;
        await this.inFlight.get(task.partition);
        await this.snapshot(task, state);
      }
    }
    await this.flush();
  }

  /** Waits for every write and delete in progress. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()]);
  }

  private async snapshot(task: SnapshotSource, state: TaskState): Promise<void> {
    const stores: StoreToSnapshot[] = [];
    for (const [name, s] of task.stores) {
      const offset = state.positions.get(name);
      // A store with writes no transaction carried, or without a known changelog position, cannot be captured.
      if (offset === undefined || s.changelog.pendingChanges > 0) return;
      stores.push({ name, offset, size: s.store.size, entries: s.changelog.entries() });
    }
    const started = this.now();
    const captured = state.changes;
    state.changes = 0;
    state.lastSnapshotAt = started;
    const serialized = await serializeSnapshot({ applicationId: this.options.applicationId, partition: task.partition, writtenAt: started }, stores);
    const path = this.pathOf(task.partition);
    const partition = task.partition;
    this.unwritten.set(partition, (this.unwritten.get(partition) ?? 0) + 1);
    this.chain(partition, async () => {
      try {
        await writeSnapshotFile(path, serialized);
        this.options.onEvent?.('snapshots_written', 1);
        this.options.logger.debug({ partition: task.partition, bytes: serialized.bytes, ms: this.now() - started }, 'task snapshot written');
      } catch (err) {
        // The changes stay counted, so the next commit tries again.
        state.changes += captured;
        this.options.onEvent?.('snapshot_write_failures', 1);
        this.options.logger.warn({ err, partition: task.partition, path }, 'writing a task snapshot failed; restores read the changelog from the previous snapshot');
      } finally {
        const left = (this.unwritten.get(partition) ?? 1) - 1;
        if (left > 0) this.unwritten.set(partition, left);
        else this.unwritten.delete(partition);
      }
    });
  }

  private drop(partition: number, reason: string): Promise<void> {
    const path = this.pathOf(partition);
    return this.chain(partition, async () => {
      try {
        await deleteSnapshotFile(path);
      } catch (err) {
        this.options.logger.warn({ err, path }, 'deleting a task snapshot failed');
      }
      this.options.onEvent?.('snapshots_discarded', 1);
      this.options.logger.warn({ partition, path, reason }, 'task snapshot discarded; the task restores from the beginning of its changelogs');
    });
  }

  private chain(partition: number, work: () => Promise<void>): Promise<void> {
    const previous = this.inFlight.get(partition) ?? Promise.resolve();
    const next: Promise<void> = previous.then(work).catch((err: unknown) => {
      this.options.logger.warn({ err, partition }, 'task snapshot file operation failed');
    });
    this.inFlight.set(partition, next);
    void next.then(() => {
      if (this.inFlight.get(partition) === next) this.inFlight.delete(partition);
    });
    return next;
  }
}

/** Why a snapshot's offsets cannot be trusted against the changelogs as they are now, or null. */
function staleStore(stores: ReadonlyMap<string, { offset: bigint }>, task: SnapshotSource, bounds: (store: string) => ChangelogBounds | undefined): string | null {
  for (const [name, s] of stores) {
    if (!task.stores.has(name)) continue;
    const b = bounds(name);
    if (!b) return `no bounds for the changelog of store ${name}`;
    if (s.offset > b.high) return `store ${name}: snapshot offset ${s.offset} is past the changelog end ${b.high} (topic recreated, or a foreign file)`;
    if (s.offset < b.low) return `store ${name}: snapshot offset ${s.offset} is before the changelog start ${b.low} (the records in between are gone)`;
  }
  return null;
}

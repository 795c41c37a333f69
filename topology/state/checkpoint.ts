/**
 * A task's snapshot file: the entries of each of its stores and, per store, the changelog
 * offset it covers (Kafka Streams' checkpoint file, with the state beside it because our
 * stores live in memory). Knows files only: no Kafka, no clock.
 *
 * Format, JSON lines:
 * - line 1, the header: `{"format":"artenic-task-snapshot","version":1,"applicationId",
 *   "partition","writtenAt","stores":[{"name","offset","entries"}]}`; `offset` (a decimal
 *   string) is the next changelog offset to read: every record before it is in the snapshot;
 * - then lines of up to 5,000 entries each, `[[storeIndex, key, value], ...]` (one JSON value
 *   per line; a line per entry made serialising and parsing a million entries 5x slower);
 * - last line, the trailer: `{"sha256":"<hex>"}`, the SHA-256 of every byte before it.
 *
 * Writes are atomic: a temporary file in the same directory, fsync, rename over the old
 * file, fsync of the directory. A reader sees the old snapshot or the new one, never half.
 *
 * @example
 * const s = await serializeSnapshot({ applicationId: 'app', partition: 0, writtenAt: Date.now() }, [{ name: 'pending', offset: 42n, entries: store.entries(), size: store.size }]);
 * await writeSnapshotFile('/var/lib/app/task-0.snapshot', s);
 * const read = await readSnapshotFile('/var/lib/app/task-0.snapshot'); // { ok: true, snapshot } or { ok: false, reason }
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const SNAPSHOT_FORMAT = 'artenic-task-snapshot';
export const SNAPSHOT_VERSION = 1;

export interface SnapshotStoreHeader {
  name: string;
  /** Next changelog offset to read after loading this snapshot (decimal string). */
  offset: string;
  entries: number;
}

export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  applicationId: string;
  partition: number;
  writtenAt: number;
  stores: SnapshotStoreHeader[];
}

/** What a store contributes to a snapshot: read synchronously, so the view is consistent. */
export interface StoreToSnapshot {
  name: string;
  offset: bigint;
  size: number;
  entries: Iterable<[string, unknown]>;
}

/** A snapshot serialised in memory, ready to be written (in chunks, so that no string grows past V8's limit). */
export interface SerializedSnapshot {
  header: SnapshotHeader;
  chunks: string[];
  bytes: number;
}

export interface LoadedStore {
  offset: bigint;
  entries: Array<[string, unknown]>;
}

export interface LoadedSnapshot {
  header: SnapshotHeader;
  stores: Map<string, LoadedStore>;
}

export type SnapshotReadFailure = 'missing' | 'unreadable' | 'checksum' | 'format';

export type SnapshotReadResult = { ok: true; snapshot: LoadedSnapshot } | { ok: false; reason: SnapshotReadFailure; detail?: string };

const ENTRIES_PER_LINE = 5_000;

/**
 * Serialises the stores' current entries: call it when the stores hold committed state only
 * (right after a commit), from where nothing can change them until it resolves (the stream
 * thread's serial section). Every line (5,000 entries) it gives the event loop a turn, so
 * that a large state does not hold back the consumer's heartbeats.
 */
export async function serializeSnapshot(meta: { applicationId: string; partition: number; writtenAt: number }, stores: readonly StoreToSnapshot[]): Promise<SerializedSnapshot> {
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    applicationId: meta.applicationId,
    partition: meta.partition,
    writtenAt: meta.writtenAt,
    stores: stores.map((s) => ({ name: s.name, offset: s.offset.toString(), entries: 0 })),
  };
  const body: string[] = [];
  let line: Array<[number, string, unknown]> = [];
  for (const [i, s] of stores.entries()) {
    let n = 0;
    for (const [key, value] of s.entries) {
      line.push([i, key, value]);
      n++;
      if (line.length >= ENTRIES_PER_LINE) {
        body.push(JSON.stringify(line) + '\n');
        line = [];
        await new Promise((r) => setImmediate(r));
      }
    }
    (header.stores[i] as SnapshotStoreHeader).entries = n;
  }
  if (line.length > 0) body.push(JSON.stringify(line) + '\n');
  const chunks = [JSON.stringify(header) + '\n', ...body];
  const hash = createHash('sha256');
  let bytes = 0;
  for (const c of chunks) {
    hash.update(c, 'utf8');
    bytes += Buffer.byteLength(c, 'utf8');
  }
  const trailer = JSON.stringify({ sha256: hash.digest('hex') }) + '\n';
  chunks.push(trailer);
  return { header, chunks, bytes: bytes + trailer.length };
}

/** Writes a serialised snapshot to `path` atomically (temporary file, fsync, rename, fsync of the directory). `faults` is for tests: a crash between fsync and rename. */
export async function writeSnapshotFile(path: string, snapshot: SerializedSnapshot, faults: { beforeRename?: (tmp: string) => Promise<void> | void } = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    for (const chunk of snapshot.chunks) await fh.write(chunk, null, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await faults.beforeRename?.(tmp);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

/** Makes the rename durable; some platforms refuse to open a directory, then the rename is as durable as they allow. */
async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // EISDIR / EPERM on platforms without directory fsync.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Reads and checks a snapshot file. Never throws for a bad file: a missing, unreadable,
 * corrupted (checksum) or malformed one is reported, and the caller falls back to the full
 * changelog. Every `yieldEvery` entries it gives the event loop a turn, so a large load does not
 * starve the consumer's heartbeats.
 */
export async function readSnapshotFile(path: string, options: { yieldEvery?: number } = {}): Promise<SnapshotReadResult> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { ok: false, reason: 'missing' } : { ok: false, reason: 'unreadable', detail: (err as Error).message };
  }
  // The trailer is the last line; the checksum covers every byte before it.
  const end = data.length > 0 && data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  const cut = data.lastIndexOf(0x0a, end - 1);
  if (cut < 0) return { ok: false, reason: 'format', detail: 'no trailer line' };
  let expected: unknown;
  try {
    expected = (JSON.parse(data.subarray(cut + 1, end).toString('utf8')) as { sha256?: unknown }).sha256;
  } catch {
    return { ok: false, reason: 'checksum', detail: 'the trailer line is not a checksum (truncated file?)' };
  }
  const body = data.subarray(0, cut + 1);
  const actual = createHash('sha256').update(body).digest('hex');
  if (typeof expected !== 'string' || expected !== actual) return { ok: false, reason: 'checksum', detail: `sha256 ${actual} does not match the trailer` };

  // Line by line from the buffer: a large snapshot is longer than V8's longest string.
  const first = body.indexOf(0x0a);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(body.toString('utf8', 0, first)) as SnapshotHeader;
  } catch {
    return { ok: false, reason: 'format', detail: 'header is not JSON' };
  }
  if (header.format !== SNAPSHOT_FORMAT || header.version !== SNAPSHOT_VERSION || !Array.isArray(header.stores)) {
    return { ok: false, reason: 'format', detail: `not a version ${SNAPSHOT_VERSION} ${SNAPSHOT_FORMAT} file` };
  }
  const stores: LoadedStore[] = [];
  try {
    for (const s of header.stores) stores.push({ offset: BigInt(s.offset), entries: [] });
  } catch {
    return { ok: false, reason: 'format', detail: 'a store offset is not an integer' };
  }
  const yieldEvery = options.yieldEvery ?? 50_000;
  let pos = first + 1;
  let lines = 0;
  let sinceYield = 0;
  try {
    while (pos < body.length) {
      const nl = body.indexOf(0x0a, pos);
      const entries = JSON.parse(body.toString('utf8', pos, nl)) as unknown;
      if (!Array.isArray(entries)) return { ok: false, reason: 'format', detail: `line ${lines + 2} is not a list of entries` };
      for (const entry of entries as Array<[number, string, unknown]>) {
        const target = Array.isArray(entry) ? stores[entry[0]] : undefined;
        if (!target || typeof entry[1] !== 'string') return { ok: false, reason: 'format', detail: `bad entry on line ${lines + 2}` };
        target.entries.push([entry[1], entry[2]]);
      }
      pos = nl + 1;
      lines++;
      sinceYield += entries.length;
      if (sinceYield >= yieldEvery) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  } catch {
    return { ok: false, reason: 'format', detail: `line ${lines + 2} is not JSON` };
  }
  for (const [i, s] of header.stores.entries()) {
    if ((stores[i] as LoadedStore).entries.length !== s.entries) return { ok: false, reason: 'format', detail: `store ${s.name}: ${(stores[i] as LoadedStore).entries.length} entries, the header says ${s.entries}` };
  }
  return { ok: true, snapshot: { header, stores: new Map(header.stores.map((s, i) => [s.name, stores[i] as LoadedStore])) } };
}

/** Removes a snapshot file; a missing one is fine. */
export async function deleteSnapshotFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteSnapshotFile, readSnapshotFile, serializeSnapshot, writeSnapshotFile } from '../../../../topology/state/checkpoint.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'artenic-checkpoint-test-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const meta = { applicationId: 'app', partition: 3, writtenAt: 1_700_000_000_000 };

async function sample(n: number) {
  const pending = new Map<string, unknown>();
  for (let i = 0; i < n; i++) pending.set(`job-${i}`, { cost: i * 1.5, tags: ['a', `b${i}`], nested: { ok: i % 2 === 0 } });
  const meta2 = new Map<string, unknown>([['stream-time', 1_700_000_123_456]]);
  return serializeSnapshot(meta, [
    { name: 'task-meta', offset: 7n, size: meta2.size, entries: meta2.entries() },
    { name: 'pending', offset: 12_345_678_901n, size: pending.size, entries: pending.entries() },
  ]);
}

describe('task snapshot file', () => {
  it('round-trips entries and per-store offsets', async () => {
    const path = join(tempDir(), 'task-3.snapshot.jsonl');
    await writeSnapshotFile(path, await sample(1_000));
    const read = await readSnapshotFile(path, { yieldEvery: 100 });
    if (!read.ok) throw new Error(`read failed: ${read.reason}`);
    expect(read.snapshot.header).toMatchObject({ applicationId: 'app', partition: 3, writtenAt: meta.writtenAt });
    expect(read.snapshot.stores.get('task-meta')).toEqual({ offset: 7n, entries: [['stream-time', 1_700_000_123_456]] });
    const pending = read.snapshot.stores.get('pending');
    expect(pending?.offset).toBe(12_345_678_901n);
    expect(pending?.entries).toHaveLength(1_000);
    expect(pending?.entries[999]).toEqual(['job-999', { cost: 999 * 1.5, tags: ['a', 'b999'], nested: { ok: false } }]);
  });

  it('spans several chunks when the state is large', async () => {
    const s = await sample(30_000);
    expect(s.chunks.length).toBeGreaterThan(3);
    const path = join(tempDir(), 'big.jsonl');
    await writeSnapshotFile(path, s);
    const read = await readSnapshotFile(path);
    expect(read.ok && read.snapshot.stores.get('pending')?.entries.length).toBe(30_000);
  });

  it('gives the event loop turns while it serialises and parses a large state (heartbeats go on)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const s = await sample(30_000);
    const duringSerialise = ticks;
    const path = join(tempDir(), 'big.jsonl');
    await writeSnapshotFile(path, s);
    ticks = 0;
    const read = await readSnapshotFile(path, { yieldEvery: 5_000 });
    clearInterval(timer);
    expect(read.ok).toBe(true);
    expect(duringSerialise).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThan(0);
  });

  it('writes atomically: the new bytes go to a synced temporary file first; a crash before the rename leaves the previous snapshot whole', async () => {
    const dir = tempDir();
    const path = join(dir, 'task-3.snapshot.jsonl');
    await writeSnapshotFile(path, await sample(10));
    const before = readFileSync(path);
    let seenTmp = '';
    await expect(
      writeSnapshotFile(path, await sample(20), {
        beforeRename: (tmp) => {
          seenTmp = tmp;
          // The complete new snapshot is on disk beside the old one, which is untouched.
          expect(readFileSync(tmp).length).toBeGreaterThan(before.length);
          expect(readFileSync(path).equals(before)).toBe(true);
          throw new Error('crash before rename');
        },
      }),
    ).rejects.toThrow('crash before rename');
    expect(seenTmp.startsWith(dir)).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['task-3.snapshot.jsonl']);
    const read = await readSnapshotFile(path);
    expect(read.ok && read.snapshot.stores.get('pending')?.entries.length).toBe(10);
  });

  it('replaces the previous snapshot by rename and leaves no temporary file', async () => {
    const dir = tempDir();
    const path = join(dir, 'task-3.snapshot.jsonl');
    await writeSnapshotFile(path, await sample(10));
    await writeSnapshotFile(path, await sample(20));
    expect(readdirSync(dir)).toEqual(['task-3.snapshot.jsonl']);
    const read = await readSnapshotFile(path);
    expect(read.ok && read.snapshot.stores.get('pending')?.entries.length).toBe(20);
  });

  it('reports a missing file as missing', async () => {
    expect(await readSnapshotFile(join(tempDir(), 'nothing-here.jsonl'))).toEqual({ ok: false, reason: 'missing' });
  });

  it('refuses a file whose bytes changed (checksum)', async () => {
    const path = join(tempDir(), 's.jsonl');
    await writeSnapshotFile(path, await sample(50));
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"job-17"', '"job-71"'));
    const read = await readSnapshotFile(path);
    expect(read).toMatchObject({ ok: false, reason: 'checksum' });
  });

  it('refuses a truncated file (its trailer is gone)', async () => {
    const path = join(tempDir(), 's.jsonl');
    await writeSnapshotFile(path, await sample(50));
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const read = await readSnapshotFile(path);
    expect(read.ok).toBe(false);
    expect(['checksum', 'format']).toContain(!read.ok && read.reason);
  });

  it('refuses an empty file and one that is not a snapshot', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty'), '');
    expect(await readSnapshotFile(join(dir, 'empty'))).toMatchObject({ ok: false, reason: 'format' });
    writeFileSync(join(dir, 'other'), '{"hello":1}\n{"sha256":"00"}\n');
    expect(await readSnapshotFile(join(dir, 'other'))).toMatchObject({ ok: false, reason: 'checksum' });
  });

  it('reports an unreadable file as unreadable', async () => {
    // A directory where the file should be: unreadable for every user, root included (CI runs as root).
    const path = join(tempDir(), 's.jsonl');
    mkdirSync(path);
    expect(await readSnapshotFile(path)).toMatchObject({ ok: false, reason: 'unreadable' });
    if (process.getuid?.() === 0) return; // root reads a file whatever its mode
    const file = join(tempDir(), 't.jsonl');
    await writeSnapshotFile(file, await sample(5));
    await chmod(file, 0o000);
    expect(await readSnapshotFile(file)).toMatchObject({ ok: false, reason: 'unreadable' });
  });

  it('deletes a file, and a missing one is no error', async () => {
    const path = join(tempDir(), 's.jsonl');
    await writeSnapshotFile(path, await sample(5));
    await deleteSnapshotFile(path);
    await deleteSnapshotFile(path);
    expect(await readSnapshotFile(path)).toEqual({ ok: false, reason: 'missing' });
  });
});

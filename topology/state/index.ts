export { defaultStateDir, TaskSnapshots, type ChangelogBounds, type SnapshotLoad, type SnapshotSource, type TaskSnapshotOptions } from './taskSnapshots.ts';
export { readSnapshotFile, serializeSnapshot, writeSnapshotFile, deleteSnapshotFile, type SnapshotReadResult } from './checkpoint.ts';

/**
 * A StreamTask owns one partition of the co-partitioned inputs: the processors' stores for
 * that partition and its stream time. It is created on assignment, filled from the
 * changelogs, and thrown away (never patched) when a transaction fails.
 */
import type { Emission, InputRecord, Processor, ProcessorContext } from './processor.ts';
import { DeadLetterError } from '../common/errors.ts';
import { COMPACTED_TOPICS, type TopicRole } from '../schemas/catalog.ts';
import type { TopicRecords } from '../schemas/generated/records.ts';
import { buildLoggedStore, type ChangelogEntry, type KeyValueStore, type LoggedStore } from './stores/index.ts';

/** Built-in store holding the task's stream time, so punctuation resumes where it was. */
export const TASK_META_STORE = 'task-meta';
const STREAM_TIME_KEY = 'stream-time';

export interface TaskOptions {
  graceMs: number;
  /** Global tables by topic role (shared by all tasks). */
  globalTables?: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /** Punctuate when stream time has advanced this much since the last punctuation. */
  punctuateIntervalMs: number;
  onCount?: (what: string, n: number) => void;
  /**
   * What a processor that throws on a record does to the stream (Kafka Streams' processing
   * exception handler, KIP-1033): `dlq` (default) sends that record to the DLQ as
   * PROCESSING_ERROR and goes on; `fail` lets the error fail the batch (the tasks are dropped
   * and restored, and the record comes again). A DeadLetterError is the record's fault and
   * dead-letters it with its own code under either policy.
   */
  processingErrors?: 'dlq' | 'fail';
  /** Told of each record a processor threw on and that went to the DLQ. */
  onProcessingError?: (processor: string, record: InputRecord, err: unknown) => void;
}

/** A record's original bytes, for a dead letter. */
export type RawRecord = NonNullable<Extract<Emission, { kind: 'dead-letter' }>['raw']>;

export class StreamTask {
  readonly stores = new Map<string, LoggedStore<unknown>>();
  private lastPunctuation = Number.NEGATIVE_INFINITY;
  private pending: Emission[] = [];
  private readonly ctx: Map<string, ProcessorContext> = new Map();

  constructor(
    readonly partition: number,
    private readonly processors: readonly Processor[],
    private readonly options: TaskOptions,
  ) {
    for (const name of StreamTask.storeNames(processors)) this.stores.set(name, buildLoggedStore(name));
    for (const p of processors) {
      this.ctx.set(p.name, this.contextFor(p));
    }
  }

  static storeNames(processors: readonly Processor[]): string[] {
    return [TASK_META_STORE, ...new Set(processors.flatMap((p) => p.stores.map((s) => s.name)))];
  }

  get streamTime(): number {
    return (this.stores.get(TASK_META_STORE)?.store.get(STREAM_TIME_KEY) as number | undefined) ?? Number.NEGATIVE_INFINITY;
  }

  private advance(eventTime: number): void {
    if (eventTime > this.streamTime) this.stores.get(TASK_META_STORE)?.store.put(STREAM_TIME_KEY, eventTime);
  }

  private contextFor(processor: Processor): ProcessorContext {
    const streamTime = () => this.streamTime;
    return {
      partition: this.partition,
      get streamTime() {
        return streamTime();
      },
      graceMs: this.options.graceMs,
      forward: (role, key, value) => {
        this.pending.push({ kind: 'record', role, key, value });
      },
      tombstone: (role, key) => {
        if (!COMPACTED_TOPICS.has(role)) throw new Error(`processor ${processor.name} tombstoned a key of ${role}, which is not compacted`);
        this.pending.push({ kind: 'tombstone', role, key });
      },
      deadLetter: (letter) => {
        this.pending.push({ kind: 'dead-letter', processor: processor.name, ...letter });
      },
      getStateStore: <V>(name: string) => {
        const s = this.stores.get(name);
        if (!s) throw new Error(`processor ${processor.name} asked for undeclared store ${name}`);
        return s.store as KeyValueStore<V>;
      },
      count: (what, n = 1) => this.options.onCount?.(what, n),
      getGlobalTable: <R extends TopicRole>(role: R) => {
        const table = this.options.globalTables?.get(role);
        if (!table || !(processor.globalTables ?? []).includes(role)) throw new Error(`processor ${processor.name} asked for undeclared global table ${role}`);
        return table as ReadonlyMap<string, TopicRecords[R]>;
      },
    };
  }

  /** Counts something outside any processor (tombstones skipped at decoding). */
  count(what: string, n = 1): void {
    this.options.onCount?.(what, n);
  }

  /** Initialises processors once the stores are restored. */
  init(): void {
    for (const p of this.processors) p.init?.(this.ctx.get(p.name) as ProcessorContext);
  }

  /**
   * Processes one record through every processor that reads its topic; returns what they
   * emitted. A processor that throws loses what it emitted for this record (the others keep
   * theirs; store changes made before the throw stay, as in Kafka Streams) and, unless
   * `processingErrors` is `fail`, the record goes to the DLQ with `raw`, its original bytes
   * (re-encoded from the decoded value where they are not known).
   */
  process(record: InputRecord, raw?: RawRecord): Emission[] {
    const out = this.processAsync(record, raw);
    if (out instanceof Promise) throw new Error('a processor went asynchronous in a synchronous run: give it its in-thread variant');
    return out;
  }

  /**
   * [loop] As `process`, for the runtime: a processor that returns a promise (training in a
   * worker) is awaited before the next processor and the next record, so the result is a
   * promise only then.
   */
  processAsync(record: InputRecord, raw?: RawRecord): Emission[] | Promise<Emission[]> {
    this.advance(record.eventTime);
    return this.processFrom(0, record, raw);
  }

  private processFrom(first: number, record: InputRecord, raw?: RawRecord): Emission[] | Promise<Emission[]> {
    for (let i = first; i < this.processors.length; i++) {
      const p = this.processors[i] as Processor;
      const reads = record.source === record.role ? (p.inputs as readonly string[]).includes(record.role) : (p.repartitions ?? []).some((r) => r.name === record.source);
      if (!reads) continue;
      const mark = this.pending.length;
      try {
        const pending = p.process(record, this.ctx.get(p.name) as ProcessorContext);
        if (pending) {
          return pending.then(
            () => this.processFrom(i + 1, record, raw),
            (err: unknown) => {
              this.processorThrew(p, record, raw, err, mark);
              return this.processFrom(i + 1, record, raw);
            },
          );
        }
      } catch (err) {
        this.processorThrew(p, record, raw, err, mark);
      }
    }
    return this.takeEmissions();
  }

  /**
   * A processor threw on the record: what it emitted for it goes, and the record becomes a
   * dead letter (PROCESSING_ERROR unless it threw one), or the error goes on with `fail`.
   */
  private processorThrew(p: Processor, record: InputRecord, raw: RawRecord | undefined, err: unknown, mark: number): void {
    const deadLetter = err instanceof DeadLetterError;
    if (!deadLetter && this.options.processingErrors === 'fail') throw err;
    this.pending.length = mark;
    this.pending.push({
      kind: 'dead-letter',
      code: deadLetter ? err.code : 'PROCESSING_ERROR',
      reason: `processor ${p.name} threw: ${err instanceof Error ? err.message : String(err)}`,
      processor: p.name,
      key: record.key,
      ...(raw ? { raw } : { record: { role: record.role, value: record.value, eventTime: record.eventTime } }),
      source: { topic: record.topic, partition: record.partition, offset: record.offset },
    });
    if (!deadLetter) this.options.onProcessingError?.(p.name, record, err);
  }

  /** Stream-time punctuation, at most once per `punctuateIntervalMs` of stream time. */
  maybePunctuate(): Emission[] {
    const now = this.streamTime;
    if (!Number.isFinite(now) || now - this.lastPunctuation < this.options.punctuateIntervalMs) return [];
    this.lastPunctuation = now;
    for (const p of this.processors) p.punctuate?.(now, this.ctx.get(p.name) as ProcessorContext);
    return this.takeEmissions();
  }

  private takeEmissions(): Emission[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Changes since the last call, per store. */
  takeChangelogs(): Array<{ store: string; entries: ChangelogEntry[] }> {
    return [...this.stores].map(([store, s]) => ({ store, entries: s.changelog.takeChanges() })).filter((c) => c.entries.length > 0);
  }

  get totalEntries(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.store.size;
    return n;
  }
}

/**
 * A StreamTask owns one partition of the co-partitioned inputs: the processors' stores for
 * that partition and its stream time. It is created on assignment, filled from the
 * changelogs, and thrown away (never patched) when a transaction fails.
 */
import type { Emission, InputRecord, Processor, ProcessorContext } from './processor.ts';
import type { TopicRole } from '../schemas/catalog.ts';
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
}

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

  /** Initialises processors once the stores are restored. */
  init(): void {
    for (const p of this.processors) p.init?.(this.ctx.get(p.name) as ProcessorContext);
  }

  /** Processes one record through every processor that reads its topic; returns what they emitted. Synchronous processors only (a replay, tests). */
  process(record: InputRecord): Emission[] {
    const out = this.processAsync(record);
    if (out instanceof Promise) throw new Error('a processor went asynchronous in a synchronous run: give it its in-thread variant');
    return out;
  }

  /**
   * [loop] As `process`, for the runtime: a processor that returns a promise (training in a
   * worker) is awaited before the next processor and the next record, so the result is a
   * promise only then.
   */
  processAsync(record: InputRecord): Emission[] | Promise<Emission[]> {
    this.advance(record.eventTime);
    return this.processFrom(0, record);
  }

  private processFrom(first: number, record: InputRecord): Emission[] | Promise<Emission[]> {
    for (let i = first; i < this.processors.length; i++) {
      const p = this.processors[i] as Processor;
      const reads = record.source === record.role ? (p.inputs as readonly string[]).includes(record.role) : (p.repartitions ?? []).some((r) => r.name === record.source);
      if (!reads) continue;
      const pending = p.process(record, this.ctx.get(p.name) as ProcessorContext);
      if (pending) return pending.then(() => this.processFrom(i + 1, record));
    }
    return this.takeEmissions();
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
  drainChangelogs(): Array<{ store: string; entries: ChangelogEntry[] }> {
    return [...this.stores].map(([store, s]) => ({ store, entries: s.changelog.drainChanges() })).filter((c) => c.entries.length > 0);
  }

  get totalEntries(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.store.size;
    return n;
  }
}

/**
 * The record collector: turns what a task emitted into the records of its transaction.
 * Outputs are encoded (synchronously, with the service's own schemas) and copied to the
 * repartition topics that read them, tombstones (a processor's deleted key of a compacted
 * topic) become null values, dead letters are wrapped in their envelope, the task's store changes go to their changelogs, and the
 * whole is cut into requests a broker accepts.
 */
import type { Message } from 'kafkajs';
import type { Config } from '../config/options.ts';
import type { OutputTopic } from '../schemas/catalog.ts';
import type { DeadLetter } from '../schemas/generated/records.ts';
import { repartitionTopic, type Emission, type Repartition } from './processor.ts';
import type { TopicSerde } from './serde.ts';
import { changelogTopic } from './stores/index.ts';
import type { StreamTask } from './task.ts';
import { bump, type StreamsCounters } from './streamsCounters.ts';
import type { TopicMessages } from './transactionalSender.ts';
import type { RuntimeEmission } from './mispartitioned.ts';

/** Brokers refuse record batches over message.max.bytes (1 MiB by default): stay well below. */
const MAX_REQUEST_BYTES = 512 * 1024;
const MAX_DEAD_LETTER_VALUE_BYTES = 512 * 1024;

function messageBytes(m: Message): number {
  const size = (v: Message['key'] | Message['value']) => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return size(m.key) + size(m.value) + 64;
}

/** Splits what a transaction sends into requests of at most `maxBytes` each. */
export function chunkRequests(byTopic: Map<string, Message[]>, maxBytes: number): TopicMessages[] {
  const requests: TopicMessages[] = [];
  let current: TopicMessages = [];
  let bytes = 0;
  for (const [topic, messages] of byTopic) {
    let slice: Message[] = [];
    for (const m of messages) {
      const size = messageBytes(m);
      if (bytes + size > maxBytes && (slice.length > 0 || current.length > 0)) {
        if (slice.length > 0) current.push({ topic, messages: slice });
        requests.push(current);
        current = [];
        slice = [];
        bytes = 0;
      }
      slice.push(m);
      bytes += size;
    }
    if (slice.length > 0) current.push({ topic, messages: slice });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export class RecordCollector {
  constructor(
    private readonly config: Config,
    private readonly serde: TopicSerde,
    private readonly repartitions: readonly Repartition[],
    private readonly counters: StreamsCounters,
  ) {}

  /** A task's transaction: its emissions and the store changes since its last commit, as broker requests. Takes the task's changes. */
  async collect(task: StreamTask, emissions: readonly RuntimeEmission[]): Promise<TopicMessages[]> {
    const byTopic = this.encodeEmissions(emissions);
    for (const { store, entries } of task.takeChangelogs()) {
      byTopic.set(
        changelogTopic(this.config.kafka.applicationId, store),
        entries.map((c) => ({ key: c.key, value: c.value, partition: task.partition })),
      );
    }
    return chunkRequests(byTopic, MAX_REQUEST_BYTES);
  }

  /** Synchronous: every schema it encodes with is this service's own, registered at start ([corpus] issue 15 item 4). */
  private encodeEmissions(emissions: readonly RuntimeEmission[]): Map<string, Message[]> {
    const out = new Map<string, Message[]>();
    const push = (topic: string, m: Message) => {
      const list = out.get(topic);
      if (list) list.push(m);
      else out.set(topic, [m]);
    };
    for (const e of emissions) {
      if (e.kind === 'tombstone') {
        // [corpus] A deleted key of a compacted topic: a null value, and no repartition copy.
        push(this.config.topics[e.role], { key: e.key, value: null });
        bump(this.counters.events, 'tombstones_emitted');
        continue;
      }
      if (e.kind === 'record') {
        const value = this.serde.encodeSync(e.role as OutputTopic, e.value);
        push(this.config.topics[e.role], { key: e.key, value });
        bump(this.counters.produced, e.role);
        for (const r of this.repartitions) {
          if (r.from !== e.role || !(r.accepts?.(e.value as never) ?? true)) continue;
          // [partitioner] A projected repartition carries its slim internal record instead of the whole one.
          const copy = r.projection ? this.serde.encodeInternalSync(r.projection.record, r.projection.project(e.value as never)) : value;
          push(repartitionTopic(this.config.kafka.applicationId, r.name), { key: r.key(e.value as never), value: copy });
        }
        continue;
      }
      // [partitioner] the record as fetched, to the partition of the rerouted topic where its key belongs.
      if (e.kind === 'reroute') {
        push(e.topic, { key: e.key, value: e.value, partition: e.partition, timestamp: e.timestamp, ...(e.headers ? { headers: e.headers } : {}) });
        this.countMispartitioned(e.source.topic, 'reroute');
        continue;
      }
      if (e.code === 'MISPARTITIONED' && e.source) this.countMispartitioned(e.source.topic, 'dlq');
      push(this.config.topics.dlq, { key: e.key, value: this.serde.encodeSync('dlq', this.deadLetter(e)) });
      bump(this.counters.deadLetters, e.code);
    }
    return out;
  }

  private countMispartitioned(topic: string, action: string): void {
    bump((this.counters.mispartitioned[topic] ??= {}), action);
  }

  /** The dead-letter envelope: the reason, the original bytes (or the record re-encoded), and where it came from. */
  private deadLetter(e: Extract<Emission, { kind: 'dead-letter' }>): DeadLetter {
    let value = e.record ? this.serde.encodeSync(e.record.role, e.record.value) : (e.raw?.value ?? null);
    let reason = e.reason;
    if (value && value.length > MAX_DEAD_LETTER_VALUE_BYTES) {
      // The dead letter must itself fit in a broker request; the original stays readable at its offset.
      reason = `${reason} (value of ${value.length} bytes omitted; read it at its source offset)`;
      value = null;
    }
    const src = e.source;
    return {
      event_id: src ? `dlq:${src.topic}:${src.partition}:${src.offset}` : `dlq:${e.code}:${e.record?.role ?? 'unknown'}:${e.key ?? ''}`,
      event_time: e.record?.eventTime ?? e.raw?.timestamp ?? 0,
      source_topic: src?.topic ?? (e.record ? this.config.topics[e.record.role] : ''),
      source_partition: src?.partition ?? -1,
      source_offset: src ? Number(src.offset) : -1,
      error_code: e.code,
      reason,
      processor: e.processor,
      schema_id: e.raw ? e.raw.schemaId : e.record ? this.serde.schemaId(e.record.role) : null,
      key: e.raw ? e.raw.key : e.key !== null ? Buffer.from(e.key) : null,
      value,
    };
  }
}

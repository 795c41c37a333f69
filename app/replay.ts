/**
 * Backtesting without Kafka: events from a file go through the same processors, in the same
 * StreamTask, with the same validation, as on the stream; repartitioned outputs are fed
 * back in, as the repartition topics would. One task: every key meets every other, as on a
 * single-partition topic. Outputs and dead letters come back in order.
 */
import avro from 'avsc';
import type { Config } from '../config/options.ts';
import { INPUT_TOPICS, topicSchema, type InputTopic, type TopicRole } from '../schemas/catalog.ts';
import type { TopicRecords } from '../schemas/generated/records.ts';
import { compileValidator } from '../schemas/validate.ts';
import type { Emission, InputRecord } from '../topology/processor.ts';
import { StreamTask } from '../topology/task.ts';
import { buildProcessors } from './topology.ts';

export interface ReplayEvent {
  topic: string;
  key?: string | null;
  value: unknown;
}

export type ReplayOutput =
  | { topic: TopicRole; key: string; value: TopicRecords[TopicRole] }
  /** A tombstone: the key is deleted from a compacted topic. */
  | { topic: TopicRole; key: string; value: null }
  | { topic: 'dlq'; line: number; code: string; reason: string; key: string | null };

export function replayEvents(events: Iterable<ReplayEvent>, config: Config): ReplayOutput[] {
  const processors = buildProcessors(config);
  // One per name, as the runtime does: processors that read the same repartition share its topic.
  const repartitions = [...new Map(processors.flatMap((p) => p.repartitions ?? []).map((r) => [r.name, r])).values()];
  // Global tables follow the file itself: catalog lines as they come, spot risk as it is emitted.
  const globals = new Map<string, Map<string, unknown>>([...new Set(processors.flatMap((p) => p.globalTables ?? []))].map((role) => [role, new Map()]));
  const task = new StreamTask(0, processors, { graceMs: config.streams.graceMs, punctuateIntervalMs: config.streams.punctuateIntervalMs, globalTables: globals });
  task.init();
  const types = new Map(INPUT_TOPICS.map((r) => [r, avro.Type.forSchema(topicSchema(r) as avro.Schema)]));
  const validators = new Map(INPUT_TOPICS.map((r) => [r, compileValidator(topicSchema(r))]));
  const bounds = { minEventTimeMs: config.validation.minEventTimeMs, maxEventTimeMs: Number.POSITIVE_INFINITY };
  const out: ReplayOutput[] = [];
  let line = 0;
  let offset = 0;

  const drain = (emissions: Emission[]) => {
    const queue = [...emissions];
    while (queue.length > 0) {
      const e = queue.shift() as Emission;
      if (e.kind === 'dead-letter') {
        out.push({ topic: 'dlq', line, code: e.code, reason: e.reason, key: e.key });
        continue;
      }
      if (e.kind === 'tombstone') {
        out.push({ topic: e.role, key: e.key, value: null });
        globals.get(e.role)?.delete(e.key);
        continue;
      }
      out.push({ topic: e.role, key: e.key, value: e.value });
      globals.get(e.role)?.set(e.key, e.value);
      for (const r of repartitions) {
        if (r.from !== e.role || !(r.accepts?.(e.value as never) ?? true)) continue;
        const value = e.value as { event_time: number };
        const record: InputRecord = { role: e.role, source: r.name, key: r.key(e.value as never), value: e.value, eventTime: value.event_time, topic: r.name, partition: 0, offset: String(offset++) };
        queue.push(...task.process(record));
      }
    }
  };

  for (const event of events) {
    line++;
    const role = event.topic as InputTopic;
    const type = types.get(role);
    if (!type) {
      out.push({ topic: 'dlq', line, code: 'UNKNOWN_SCHEMA', reason: `not an input topic role: ${event.topic}`, key: event.key ?? null });
      continue;
    }
    if (!type.isValid(event.value)) {
      out.push({ topic: 'dlq', line, code: 'SCHEMA_MISMATCH', reason: `value does not match schemas/${role}.avsc`, key: event.key ?? null });
      continue;
    }
    const violation = (validators.get(role) as ReturnType<typeof compileValidator>)(event.value, bounds);
    if (violation) {
      out.push({ topic: 'dlq', line, code: violation.code, reason: violation.message, key: event.key ?? null });
      continue;
    }
    const value = event.value as { event_time: number };
    if (event.key) globals.get(role)?.set(event.key, event.value);
    drain(task.process({ role, source: role, key: event.key ?? null, value: event.value as TopicRecords[InputTopic], eventTime: value.event_time, topic: role, partition: 0, offset: String(offset++) }));
    drain(task.maybePunctuate());
  }
  return out;
}

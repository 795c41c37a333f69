/**
 * The serde hot path, before and after in one process (issue 15 item 4): decoding a
 * fetched batch of dispatches and outcomes, encoding labels, and decoding the labels this
 * service wrote to its own repartition topics. Repetitions interleave the two sides.
 *
 * - before: what the runtime did until this change, with the same libraries: one promise
 *   per record to decode (the operator's async callback awaiting an async writer-schema
 *   lookup, even when cached), @kafkajs/confluent-schema-registry's `encode` (an awaited
 *   schema-cache lookup, `toBuffer`, `Buffer.concat`), and repartition records validated
 *   again like any input;
 * - after: `decodeRecords` (synchronous for a cached writer schema), `TopicSerde.encodeSync`
 *   (this service's own schema, one copy out of a reused buffer), repartition records
 *   decoded without validation.
 *
 * No Kafka and no registry process: the registry is an in-memory stand-in (ids and schemas),
 * and the library's registry has its cache filled, as after its first lookup.
 *
 * Usage: npx tsx bench/serde-hot-path.ts [records=20000] [repetitions=7]
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import { concatMap, from, lastValueFrom, toArray } from 'rxjs';
import avro from 'avsc';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { KafkaMessage } from 'kafkajs';
import { TOPIC_ROLES, topicSchema, type TopicRole } from '../schemas/catalog.ts';
import type { RelevanceLabel } from '../schemas/generated/records.ts';
import { DeadLetterError } from '../common/errors.ts';
import { loadConfig } from '../config/options.ts';
import { buildLabel } from '../processors/feedback/join.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { decodeRecords, type Decoded, type SourceMessage } from '../topology/operators/decodeRecords.ts';
import { TopicSerde } from '../topology/serde.ts';
import { memoryRegistry } from '../test/helpers/memoryRegistry.ts';

const RECORDS = Number(process.argv[2] ?? 20_000);
const REPS = Number(process.argv[3] ?? 7);

async function main(): Promise<void> {
  const config = loadConfig({ env: {}, overrides: {} });
  const topics = Object.fromEntries(TOPIC_ROLES.map((r) => [r, r])) as Record<TopicRole, string>;
  const serde = new TopicSerde(memoryRegistry(), topics);
  await serde.registerAll();
  // The library's registry, its cache filled as after the first lookup of each id.
  const library = new SchemaRegistry({ host: 'http://127.0.0.1:9' });
  const libraryCache = (library as unknown as { cache: { setSchema(id: number, type: SchemaType, schema: unknown): void } }).cache;
  for (const role of TOPIC_ROLES) libraryCache.setSchema(serde.schemaId(role), SchemaType.AVRO, avro.Type.forSchema(topicSchema(role) as avro.Schema));

  const generator = new EventGenerator({ seed: 3, runId: 'bench' });
  const start = Date.UTC(2026, 9, 1);
  const jobs = Array.from({ length: RECORDS / 2 }, (_, i) => generator.job(start + i * 1_000));
  const labels: RelevanceLabel[] = jobs.flatMap((j) => buildLabel(j.dispatch, j.outcome, config.feedback) ?? []);
  const message = (key: string, value: Buffer, offset: number): KafkaMessage => ({ key: Buffer.from(key), value, offset: String(offset), timestamp: String(start), attributes: 0, headers: {} }) as unknown as KafkaMessage;
  const inputs: SourceMessage[] = jobs.flatMap((j, i) => [
    { role: 'job-dispatch' as const, source: 'job-dispatch', topic: 'job-dispatch', partition: 0, message: message(j.dispatch.job_id, serde.encodeSync('job-dispatch', j.dispatch), 2 * i) },
    { role: 'job-outcome' as const, source: 'job-outcome', topic: 'job-outcome', partition: 0, message: message(j.outcome.job_id, serde.encodeSync('job-outcome', j.outcome), 2 * i + 1) },
  ]);
  const repartitioned = (source: string): SourceMessage[] =>
    labels.map((l, i) => ({ role: 'relevance-labels' as const, source, topic: 'labels-by-offer', partition: 0, message: message(l.job_id, serde.encodeSync('relevance-labels', l), i) }));
  const ownRepartition = repartitioned('labels-by-offer');
  const asInput = repartitioned('relevance-labels');
  const bounds = { minEventTimeMs: config.validation.minEventTimeMs, maxEventTimeMs: Date.now() + config.validation.maxFutureSkewMs };
  const options = { serde, bounds, maxRecordBytes: config.validation.maxRecordBytes };

  // before: the previous operator, a promise per record around an async cached lookup.
  const writerCache = new Map<number, true>();
  const oldWriterType = async (id: number) => writerCache.get(id) ?? writerCache.set(id, true).get(id);
  const oldDecode = (messages: SourceMessage[]) =>
    lastValueFrom(
      from(messages).pipe(
        concatMap(async (m): Promise<Decoded> => {
          try {
            await oldWriterType((m.message.value as Buffer).readInt32BE(1));
            const value = serde.decodeSync(m.role, m.message.value, bounds);
            return { ok: true, record: { role: m.role, source: m.source, key: m.message.key?.toString('utf8') ?? null, value, eventTime: value.event_time, topic: m.topic, partition: m.partition, offset: m.message.offset }, raw: { key: m.message.key ?? null, value: m.message.value ?? null, timestamp: Number(m.message.timestamp), schemaId: null } };
          } catch (err) {
            if (err instanceof DeadLetterError) return { ok: false, skipped: 'x' };
            throw err;
          }
        }),
        toArray(),
      ),
    );
  const newDecode = (messages: SourceMessage[]) => lastValueFrom(from(messages).pipe(decodeRecords(options), toArray()));
  const oldEncode = async () => {
    const out: Buffer[] = [];
    for (const l of labels) out.push(await library.encode(serde.schemaId('relevance-labels'), l));
    return out;
  };
  const newEncode = async () => {
    const out: Buffer[] = [];
    for (const l of labels) out.push(serde.encodeSync('relevance-labels', l));
    return out;
  };

  // The two sides produce the same bytes and the same records.
  const [a, b] = [await oldEncode(), await newEncode()];
  if (!a.every((x, i) => x.equals(b[i] as Buffer))) throw new Error('encodings differ');
  const [da, db] = [await oldDecode(inputs), await newDecode(inputs)];
  if (JSON.stringify(da.map((d) => (d.ok ? d.record.value : null))) !== JSON.stringify(db.map((d) => (d.ok ? d.record.value : null)))) throw new Error('decodings differ');
  if (db.some((d) => !d.ok)) throw new Error('a generated record did not decode');

  const cases: Array<{ name: string; n: number; before: () => Promise<unknown>; after: () => Promise<unknown> }> = [
    { name: 'decode a batch of dispatches and outcomes', n: inputs.length, before: () => oldDecode(inputs), after: () => newDecode(inputs) },
    { name: 'encode labels', n: labels.length, before: oldEncode, after: newEncode },
    { name: 'decode own repartition records (labels)', n: labels.length, before: () => oldDecode(asInput), after: () => newDecode(ownRepartition) },
  ];
  const times = new Map<string, { before: number[]; after: number[] }>(cases.map((c) => [c.name, { before: [], after: [] }]));
  for (let rep = 0; rep < REPS + 1; rep++) {
    for (const c of cases) {
      const order = rep % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
      for (const side of order) {
        const t0 = process.hrtime.bigint();
        await c[side]();
        const ns = Number(process.hrtime.bigint() - t0);
        // The first repetition warms the JIT and is not counted.
        if (rep > 0) times.get(c.name)?.[side].push(ns / c.n);
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[s.length >> 1] as number;
  };
  const load = execSync('uptime').toString().trim();
  console.log(`## Serde hot path (\`bench/serde-hot-path.ts\`), ${new Date().toISOString().slice(0, 10)}`);
  console.log();
  console.log(`${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; ${RECORDS} input records, ${labels.length} labels; median of ${REPS} interleaved repetitions after one warm-up; load: \`${load}\``);
  console.log();
  console.log('| path | before, µs/record | after, µs/record | before / after |');
  console.log('|---|---|---|---|');
  for (const c of cases) {
    const t = times.get(c.name) as { before: number[]; after: number[] };
    const [b0, a0] = [median(t.before) / 1000, median(t.after) / 1000];
    console.log(`| ${c.name} | ${b0.toFixed(2)} | ${a0.toFixed(2)} | ${(b0 / a0).toFixed(2)}× |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

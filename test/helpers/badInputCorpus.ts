/**
 * The bad- and evolving-input corpus: raw bytes as any client could put them on the input
 * topics, each with what must become of it. A unit test runs every kind through decoding,
 * validation and the processors (test/unit/topology/badInputCorpus.test.ts); an integration
 * test publishes all of them, interleaved with good traffic, to the real broker and
 * registry (`bad-and-evolving-input-is-dead-lettered-or-decoded-and-the-stream-goes-on`).
 *
 * Outcomes:
 * - `decoded`: reaches the processors and does what a good record does;
 * - `dead-letter`: goes to the DLQ with `code` and its original bytes, from decoding
 *   (`stage: 'decode'`) or from a processor (`stage: 'process'`);
 * - `skipped`: neither processed nor dead-lettered, counted under the metric event `counter`.
 *
 * Records written with another version of a topic's schema (EVOLVED_SCHEMAS) must be
 * registered under the topic's subject first; `CorpusEnv.evolvedId` gives their ids.
 */
import avro from 'avsc';
import { topicSchema, type AvroJson, type InputTopic } from '../../schemas/catalog.ts';
import type { DatasetAccess, JobDispatch, JobOutcome, RecommendationRequest } from '../../schemas/generated/records.ts';
import type { ErrorCode } from '../../common/errors.ts';
import { EventGenerator } from '../../simulate/generator.ts';

export type Expected =
  | { outcome: 'decoded' }
  | { outcome: 'dead-letter'; code: ErrorCode; stage: 'decode' | 'process' }
  | { outcome: 'skipped'; counter: 'tombstones_skipped' | 'feedback_duplicates' };

export interface CorpusRecord {
  role: InputTopic;
  key: Buffer | null;
  value: Buffer | null;
  expect: Expected;
}

export interface CorpusKind {
  name: string;
  /** What is wrong (or new) about it, and why the outcome is the right one. */
  why: string;
  /** Published in this order; earlier records are often the kind's good setup. */
  records: CorpusRecord[];
  /** Jobs whose pair must yield a label (as the reader sees the pair). */
  pairs?: Array<{ dispatch: JobDispatch; outcome: JobOutcome }>;
  /** Recommendation requests that must get a suggestion. */
  requests?: string[];
}

type Schema = Record<string, AvroJson>;

function clone(s: Schema): Schema {
  return JSON.parse(JSON.stringify(s)) as Schema;
}

function fieldsOf(s: Schema): Schema[] {
  return s.fields as Schema[];
}

/** Writer schemas of other versions than the service's, each BACKWARD-compatible with it. */
export const EVOLVED_SCHEMAS = {
  /** A newer job-dispatch with an added optional field. */
  dispatchAddedField: {
    role: 'job-dispatch' as const,
    schema: ((): Schema => {
      const s = clone(topicSchema('job-dispatch'));
      fieldsOf(s).push({ name: 'priority', type: ['null', 'int'], default: null });
      return s;
    })(),
  },
  /** A job-dispatch whose fields come in another order. */
  dispatchReordered: {
    role: 'job-dispatch' as const,
    schema: ((): Schema => {
      const s = clone(topicSchema('job-dispatch'));
      const fields = fieldsOf(s);
      s.fields = [...fields.slice(2), ...fields.slice(0, 2)];
      return s;
    })(),
  },
  /** An older job-outcome, before `error` (which has a default) was added. */
  outcomeWithoutError: {
    role: 'job-outcome' as const,
    schema: ((): Schema => {
      const s = clone(topicSchema('job-outcome'));
      s.fields = fieldsOf(s).filter((f) => f.name !== 'error');
      return s;
    })(),
  },
  /** A newer recommendation-requests whose goal enum has an added symbol (the reader's enum has a default). */
  requestAddedGoal: {
    role: 'recommendation-requests' as const,
    schema: ((): Schema => {
      const s = clone(topicSchema('recommendation-requests'));
      const goal = fieldsOf(s).find((f) => f.name === 'goal') as Schema;
      (goal.type as Schema).symbols = ['COST', 'SPEED', 'BALANCED', 'CARBON'];
      return s;
    })(),
  },
  /** A newer dataset-access whose format enum has an added symbol. */
  accessAddedFormat: {
    role: 'dataset-access' as const,
    schema: ((): Schema => {
      const s = clone(topicSchema('dataset-access'));
      const format = fieldsOf(s).find((f) => f.name === 'format') as Schema;
      (format.type as Schema).symbols = ['CSV', 'JSON', 'JSONL', 'PARQUET', 'ARROW', 'TFRECORD', 'IMAGES', 'OTHER', 'ZARR'];
      return s;
    })(),
  },
} satisfies Record<string, { role: InputTopic; schema: Schema }>;

export type EvolvedName = keyof typeof EVOLVED_SCHEMAS;

export interface CorpusEnv {
  /** The id under which the service registered its own schema of a role. */
  schemaId(role: InputTopic): number;
  /** The id of an evolved writer schema, registered under its topic's subject. */
  evolvedId(name: EvolvedName): number;
  /** An id the registry does not know. */
  unknownId: number;
  /** Event time of the corpus's records (within the good traffic's span). */
  baseTime: number;
  /** Prefix of every id, so runs do not collide. */
  runId: string;
  /** validation.maxRecordBytes of the service under test. */
  maxRecordBytes: number;
  /** validation.maxStringLength of the service under test. */
  maxStringLength: number;
}

const types = new Map<string, avro.Type>();
function typeOf(schema: Schema): avro.Type {
  const k = JSON.stringify(schema);
  let t = types.get(k);
  if (!t) types.set(k, (t = avro.Type.forSchema(schema as avro.Schema)));
  return t;
}

function wire(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

/** Avro's zig-zag varint of a (safe) integer. */
export function varint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 128) {
    out.push((z % 128) | 128);
    z = Math.floor(z / 128);
  }
  out.push(z);
  return Buffer.from(out);
}

/** Bytes of the fields before `field` in a value encoded with `schema`. */
function prefixLength(schema: Schema, value: Record<string, unknown>, field: string): number {
  const fields = fieldsOf(schema);
  const at = fields.findIndex((f) => f.name === field);
  if (at < 0) throw new Error(`no field ${field}`);
  const prefix = { ...schema, name: `${String(schema.name)}Prefix${field}`, fields: fields.slice(0, at) };
  return typeOf(prefix as Schema).toBuffer(value).length;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** Builds the corpus: at least 35 kinds, each with its records and their expected outcomes. */
export function buildCorpus(env: CorpusEnv): CorpusKind[] {
  const generator = new EventGenerator({ seed: 4242, runId: `${env.runId}-corpus` });
  let n = 0;
  const job = (name: string) => {
    const j = generator.job(env.baseTime + n++ * 1_000);
    const jobId = `${env.runId}:${name}`;
    const dispatch: JobDispatch = { ...j.dispatch, job_id: jobId, event_id: `dispatch:${jobId}` };
    const outcome: JobOutcome = { ...j.outcome, job_id: jobId, event_id: `outcome:${jobId}` };
    return { dispatch, outcome };
  };
  const own = <R extends InputTopic>(role: R, value: unknown): Buffer => wire(env.schemaId(role), typeOf(topicSchema(role)).toBuffer(value));
  const evolved = (name: EvolvedName, value: unknown): Buffer => wire(env.evolvedId(name), typeOf(EVOLVED_SCHEMAS[name].schema).toBuffer(value));
  const body = (role: InputTopic, value: unknown): Buffer => typeOf(topicSchema(role)).toBuffer(value);
  const rec = (role: InputTopic, key: string | Buffer | null, value: Buffer | null, expect: Expected): CorpusRecord => ({ role, key: typeof key === 'string' ? utf8(key) : key, value, expect });
  const decoded: Expected = { outcome: 'decoded' };
  const dlq = (code: ErrorCode, stage: 'decode' | 'process' = 'decode'): Expected => ({ outcome: 'dead-letter', code, stage });
  const request = (name: string, goal: RecommendationRequest['goal'] = 'COST'): RecommendationRequest => ({
    event_id: `request:${env.runId}:${name}`,
    event_time: env.baseTime + n++ * 1_000,
    request_id: `${env.runId}:${name}`,
    workload: job(`${name}-w`).dispatch.workload,
    goal,
    budget_usd: null,
    top_k: 3,
    region_allow_list: [],
  });
  const access = (name: string): DatasetAccess => ({
    event_id: `access:${env.runId}:${name}`,
    event_time: env.baseTime + n++ * 1_000,
    dataset_id: `${env.runId}-ds-${name}`,
    version: 1,
    format: 'CSV',
    tabular: true,
    size_bytes: 1_000_000,
    file_count: 3,
    operation: 'READ',
  });
  /** A dispatch whose body is replaced from `field` on: `tail` stands for the rest. */
  const dispatchCut = (name: string, field: keyof JobDispatch, tail: Buffer): CorpusRecord => {
    const { dispatch } = job(name);
    const full = body('job-dispatch', dispatch);
    const at = prefixLength(topicSchema('job-dispatch'), dispatch as never, field);
    return rec('job-dispatch', dispatch.job_id, wire(env.schemaId('job-dispatch'), Buffer.concat([full.subarray(0, at), tail])), dlq('UNDECODABLE'));
  };
  /** An outcome with one field's bytes replaced by `bytes`, the rest as encoded. */
  const outcomePatched = (name: string, field: keyof JobOutcome, bytes: Buffer, width: number): CorpusRecord => {
    const { outcome } = job(name);
    const full = body('job-outcome', outcome);
    const at = prefixLength(topicSchema('job-outcome'), outcome as never, field);
    return rec('job-outcome', outcome.job_id, wire(env.schemaId('job-outcome'), Buffer.concat([full.subarray(0, at), bytes, full.subarray(at + width)])), dlq('UNDECODABLE'));
  };
  const badDispatch = (name: string, change: Partial<JobDispatch>, code: ErrorCode): CorpusRecord => {
    const { dispatch } = job(name);
    const d = { ...dispatch, ...change };
    return rec('job-dispatch', d.job_id, own('job-dispatch', d), dlq(code));
  };
  const badOutcome = (name: string, change: Partial<JobOutcome>, code: ErrorCode): CorpusRecord => {
    const { outcome } = job(name);
    const o = { ...outcome, ...change };
    return rec('job-outcome', o.job_id, own('job-outcome', o), dlq(code));
  };
  const pairKind = (name: string, why: string, build: (j: ReturnType<typeof job>) => { records: CorpusRecord[]; seen?: { dispatch: JobDispatch; outcome: JobOutcome } }): CorpusKind => {
    const j = job(name);
    const { records, seen } = build(j);
    return { name, why, records, pairs: [seen ?? j] };
  };
  const BILLIONS = 2 ** 40;

  const kinds: CorpusKind[] = [
    // Good and evolving input: decoded.
    pairKind('control', 'a good dispatch and its outcome, in the service\'s own schema', (j) => ({
      records: [rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded), rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded)],
    })),
    pairKind('outcome-before-dispatch', 'either side of the join may come first', (j) => ({
      records: [rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded), rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded)],
    })),
    pairKind('newer-schema-added-optional-field', 'a producer on a newer schema with an added optional field: the reader drops the field', (j) => ({
      records: [rec('job-dispatch', j.dispatch.job_id, evolved('dispatchAddedField', { ...j.dispatch, priority: 3 }), decoded), rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded)],
    })),
    pairKind('writer-fields-in-another-order', 'schema resolution matches fields by name, not position', (j) => ({
      records: [rec('job-dispatch', j.dispatch.job_id, evolved('dispatchReordered', j.dispatch), decoded), rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded)],
    })),
    pairKind('older-schema-without-a-defaulted-field', 'a producer still on the schema before `error` was added: the reader fills its default', (j) => {
      const outcome = { ...j.outcome, error: null };
      const { error: _dropped, ...older } = outcome;
      return {
        records: [rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded), rec('job-outcome', j.outcome.job_id, evolved('outcomeWithoutError', older), decoded)],
        seen: { dispatch: j.dispatch, outcome },
      };
    }),
    (() => {
      const r = request('newer-enum-symbol');
      return {
        name: 'newer-schema-added-enum-symbol-with-default',
        why: 'a goal the reader does not know (CARBON) reads as the enum default (BALANCED), not a dead letter',
        records: [rec('recommendation-requests', r.request_id, evolved('requestAddedGoal', { ...r, goal: 'CARBON' }), decoded)],
        requests: [r.request_id],
      };
    })(),
    (() => {
      const a = access('newer-format');
      return {
        name: 'newer-schema-added-format-symbol',
        why: 'a dataset format the reader does not know (ZARR) reads as OTHER',
        records: [rec('dataset-access', a.dataset_id, evolved('accessAddedFormat', { ...a, format: 'ZARR' }), decoded)],
      };
    })(),
    (() => {
      const r = request('request-without-key');
      return {
        name: 'null-key-where-the-key-does-not-matter',
        why: 'a request is answered from its value; its key decides nothing',
        records: [rec('recommendation-requests', null, own('recommendation-requests', r), decoded)],
        requests: [r.request_id],
      };
    })(),
    pairKind('exact-duplicate-while-pending', 'a redelivered dispatch (same id, same content) is dropped and counted', (j) => ({
      records: [
        rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded),
        rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), { outcome: 'skipped', counter: 'feedback_duplicates' }),
        rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded),
      ],
    })),
    pairKind('exact-duplicate-after-the-join', 'a redelivered outcome of a job already labelled is dropped and counted', (j) => ({
      records: [
        rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded),
        rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded),
        rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), { outcome: 'skipped', counter: 'feedback_duplicates' }),
      ],
    })),
    pairKind('conflicting-duplicate-while-pending', 'the same dispatch event id with other content: the first stands, the second is a conflict', (j) => ({
      records: [
        rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded),
        rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', { ...j.dispatch, estimated_cost_usd: j.dispatch.estimated_cost_usd + 100 }), dlq('CONFLICTING_DUPLICATE', 'process')),
        rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded),
      ],
    })),
    pairKind('conflicting-duplicate-after-the-join', 'the same outcome event id with another cost, after the label was made', (j) => ({
      records: [
        rec('job-dispatch', j.dispatch.job_id, own('job-dispatch', j.dispatch), decoded),
        rec('job-outcome', j.outcome.job_id, own('job-outcome', j.outcome), decoded),
        rec('job-outcome', j.outcome.job_id, own('job-outcome', { ...j.outcome, cost_usd: j.outcome.cost_usd * 2 + 1 }), dlq('CONFLICTING_DUPLICATE', 'process')),
      ],
    })),

    // Tombstones: skipped and counted.
    { name: 'tombstone-on-the-compacted-catalog', why: 'deletes an offer from the catalog table; nothing to process', records: [rec('instance-catalog', `${env.runId}/nowhere/none`, null, { outcome: 'skipped', counter: 'tombstones_skipped' })] },
    { name: 'tombstone-on-compacted-hpo-studies', why: 'a compacted input\'s delete marker', records: [rec('hpo-studies', `${env.runId}-study-gone`, null, { outcome: 'skipped', counter: 'tombstones_skipped' })] },
    { name: 'tombstone-on-a-stream-input', why: 'a null value on job-dispatch carries nothing', records: [rec('job-dispatch', `${env.runId}:tombstone`, null, { outcome: 'skipped', counter: 'tombstones_skipped' })] },

    // Not the wire format.
    { name: 'empty-value', why: 'zero bytes, not null', records: [rec('job-dispatch', `${env.runId}:empty`, Buffer.alloc(0), dlq('EMPTY_VALUE'))] },
    { name: 'wrong-magic-byte', why: 'magic byte 1 (not the Confluent framing)', records: [rec('job-dispatch', `${env.runId}:magic`, Buffer.concat([Buffer.from([1]), own('job-dispatch', job('magic').dispatch).subarray(1)]), dlq('BAD_MAGIC_BYTE'))] },
    { name: 'plain-text', why: 'a string where Avro is expected', records: [rec('job-dispatch', `${env.runId}:text`, utf8('definitely not avro'), dlq('BAD_MAGIC_BYTE'))] },
    { name: 'json-value', why: 'JSON, as a misconfigured producer sends', records: [rec('job-outcome', `${env.runId}:json`, utf8(JSON.stringify(job('json').outcome)), dlq('BAD_MAGIC_BYTE'))] },
    { name: 'shorter-than-the-header', why: 'magic byte 0 and only two bytes of schema id', records: [rec('job-outcome', `${env.runId}:short`, Buffer.from([0, 0, 1]), dlq('BAD_MAGIC_BYTE'))] },
    { name: 'unknown-schema-id', why: 'an id the registry never issued', records: [rec('job-outcome', `${env.runId}:unknown-id`, wire(env.unknownId, body('job-outcome', job('unknown-id').outcome)), dlq('UNKNOWN_SCHEMA'))] },
    {
      name: 'another-topics-schema',
      why: 'a dataset-access record on job-dispatch: its schema cannot be read as a dispatch',
      records: [rec('job-dispatch', `${env.runId}:other-schema`, own('dataset-access', access('other-schema')), dlq('SCHEMA_MISMATCH'))],
    },

    // Broken Avro bodies.
    { name: 'header-without-body', why: 'the framing and nothing else', records: [rec('job-dispatch', `${env.runId}:no-body`, wire(env.schemaId('job-dispatch'), Buffer.alloc(0)), dlq('UNDECODABLE'))] },
    (() => {
      const { dispatch } = job('truncated');
      const full = body('job-dispatch', dispatch);
      return { name: 'truncated-body', why: 'cut in the middle', records: [rec('job-dispatch', dispatch.job_id, wire(env.schemaId('job-dispatch'), full.subarray(0, full.length >> 1)), dlq('UNDECODABLE'))] };
    })(),
    { name: 'truncated-varint', why: 'the event time\'s varint ends with its continuation bit set', records: [dispatchCut('truncated-varint', 'event_time', Buffer.from([0xff, 0xff, 0xff]))] },
    (() => {
      const { dispatch } = job('trailing');
      return { name: 'trailing-garbage', why: 'a whole record followed by bytes that belong to nothing', records: [rec('job-dispatch', dispatch.job_id, Buffer.concat([own('job-dispatch', dispatch), Buffer.from([0xde, 0xad, 0xbe, 0xef])]), dlq('UNDECODABLE'))] };
    })(),
    { name: 'union-branch-out-of-range', why: 'branch 5 of a two-branch union (metric)', records: [outcomePatched('union-5', 'metric', varint(5), 0)] },
    { name: 'negative-union-branch', why: 'branch -1 of a union', records: [outcomePatched('union-neg', 'metric', varint(-1), 0)] },
    { name: 'enum-index-out-of-range', why: 'status 9 of four symbols', records: [outcomePatched('enum-9', 'status', varint(9), 1)] },
    { name: 'negative-enum-index', why: 'status -1', records: [outcomePatched('enum-neg', 'status', varint(-1), 1)] },
    { name: 'negative-string-length', why: 'the event id claims -5 bytes', records: [dispatchCut('neg-string', 'event_id', Buffer.concat([varint(-5), utf8('abcdefgh')]))] },
    { name: 'string-longer-than-the-record', why: 'the event id claims 1,000,000 bytes', records: [dispatchCut('long-string', 'event_id', Buffer.concat([varint(1_000_000), utf8('abc')]))] },
    { name: 'array-of-a-trillion-items', why: 'a ten-byte record whose candidates claim 2^40 items: refused at once, not looped over', records: [dispatchCut('huge-array', 'candidates', varint(BILLIONS))] },
    { name: 'negative-array-length', why: 'a block of -2^40 items (negative counts carry a byte size)', records: [dispatchCut('neg-array', 'candidates', Buffer.concat([varint(-BILLIONS), varint(10)]))] },
    { name: 'map-of-a-trillion-entries', why: 'hyperparameters claiming 2^40 entries', records: [dispatchCut('huge-map', 'hyperparameters', varint(BILLIONS))] },
    { name: 'record-over-max-record-bytes', why: 'larger than validation.maxRecordBytes: not even looked at', records: [rec('job-dispatch', `${env.runId}:huge`, Buffer.alloc(env.maxRecordBytes + 1000, 7), dlq('RECORD_TOO_LARGE'))] },

    // Keys.
    (() => {
      const { dispatch } = job('null-key');
      return { name: 'null-key-on-a-join-input', why: 'the join is by partition of job_id: without a key the record may sit away from its partner forever', records: [rec('job-dispatch', null, own('job-dispatch', dispatch), dlq('MISSING_KEY'))] };
    })(),
    (() => {
      const { dispatch } = job('bad-key');
      return { name: 'non-utf8-key', why: 'keys are UTF-8 strings', records: [rec('job-dispatch', Buffer.from([0xff, 0xfe, 0x00, 0xc3]), own('job-dispatch', dispatch), dlq('BAD_KEY'))] };
    })(),
    (() => {
      const { outcome } = job('wrong-key');
      return { name: 'key-not-the-job-id', why: 'an outcome keyed by something else than its job id lands away from its dispatch', records: [rec('job-outcome', `${outcome.job_id}-other`, own('job-outcome', outcome), dlq('KEY_MISMATCH'))] };
    })(),
    (() => {
      const a = access('wrong-key');
      return { name: 'dataset-key-not-the-dataset-id', why: 'a dataset\'s accesses must meet on one partition', records: [rec('dataset-access', 'some-other-dataset', own('dataset-access', a), dlq('KEY_MISMATCH'))] };
    })(),

    // Values that decode but break a constraint.
    { name: 'nan-double', why: 'cost NaN', records: [badOutcome('nan', { cost_usd: Number.NaN }, 'INVALID_FIELD')] },
    { name: 'positive-infinity', why: 'cost +Infinity', records: [badOutcome('inf', { cost_usd: Number.POSITIVE_INFINITY }, 'INVALID_FIELD')] },
    { name: 'negative-infinity', why: 'duration -Infinity', records: [badOutcome('neg-inf', { duration_s: Number.NEGATIVE_INFINITY }, 'INVALID_FIELD')] },
    { name: 'negative-cost', why: 'estimated cost below its min 0', records: [badDispatch('neg-cost', { estimated_cost_usd: -5 }, 'INVALID_FIELD')] },
    { name: 'blank-event-id', why: 'event_id has minLength 1', records: [badDispatch('blank-id', { event_id: '   ' }, 'INVALID_FIELD')] },
    (() => {
      const r = request('top-k-zero');
      return { name: 'int-out-of-range', why: 'top_k 0 (min 1)', records: [rec('recommendation-requests', r.request_id, own('recommendation-requests', { ...r, top_k: 0 }), dlq('INVALID_FIELD'))] };
    })(),
    { name: 'over-long-string', why: 'a team name over validation.maxStringLength characters', records: [badDispatch('long-team', { team: 't'.repeat(env.maxStringLength + 1) }, 'STRING_TOO_LONG')] },
    (() => {
      const { dispatch } = job('long-map-key');
      return { name: 'over-long-map-key', why: 'a hyperparameter name over validation.maxStringLength', records: [rec('job-dispatch', dispatch.job_id, own('job-dispatch', { ...dispatch, hyperparameters: { ['k'.repeat(env.maxStringLength + 1)]: '1' } }), dlq('STRING_TOO_LONG'))] };
    })(),
    { name: 'event-time-in-seconds', why: 'epoch seconds read as milliseconds fall in January 1970', records: [badDispatch('seconds', { event_time: Math.floor(env.baseTime / 1000) }, 'EVENT_TIME_OUT_OF_RANGE')] },
    { name: 'event-time-in-microseconds', why: 'epoch microseconds read as milliseconds fall thousands of years ahead', records: [badOutcome('micros', { event_time: env.baseTime * 1000 }, 'EVENT_TIME_OUT_OF_RANGE')] },
    { name: 'far-future-event-time', why: 'the year 2100', records: [badOutcome('future', { event_time: Date.UTC(2100, 0, 1) }, 'EVENT_TIME_OUT_OF_RANGE')] },
    { name: 'negative-event-time', why: 'before 1970', records: [badDispatch('negative-time', { event_time: -1_000 }, 'EVENT_TIME_OUT_OF_RANGE')] },
  ];
  return kinds;
}

/** Every record of the corpus, in order, with the kind it belongs to. */
export function corpusRecords(kinds: readonly CorpusKind[]): Array<CorpusRecord & { kind: string }> {
  return kinds.flatMap((k) => k.records.map((r) => ({ ...r, kind: k.name })));
}

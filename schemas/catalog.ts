/**
 * The schema catalog: which `.avsc` describes which topic, and the loader that turns a
 * topic's `.avsc` into one self-contained Avro schema (shared types from `common/`
 * inlined where first used), which is what gets registered under `<topic>-value`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCHEMA_DIR = dirname(fileURLToPath(import.meta.url));

export const INPUT_TOPICS = [
  'job-dispatch',
  'job-outcome',
  'dataset-access',
  'instance-catalog',
  'recommendation-requests',
  'hpo-studies',
] as const;

export const OUTPUT_TOPICS = [
  'relevance-labels',
  'instance-suggestions',
  'hpo-suggestions',
  'spot-risk',
  'tiering-decisions',
  'cost-anomalies',
  'advisor-models',
  'workload-scaling',
  'dlq',
] as const;

export type InputTopic = (typeof INPUT_TOPICS)[number];
export type OutputTopic = (typeof OUTPUT_TOPICS)[number];
/** A topic's role in the picture; its actual name is configuration (`topics.<role>`). */
export type TopicRole = InputTopic | OutputTopic;
export const TOPIC_ROLES: readonly TopicRole[] = [...INPUT_TOPICS, ...OUTPUT_TOPICS];

/**
 * Records only this service writes and reads, on its internal (repartition) topics: slim
 * projections of a topic's records. Schemas in `internal/<name>.avsc`, registered under
 * the internal topic's `<topic>-value`; evolved BACKWARD like the others.
 */
export const INTERNAL_RECORDS = ['offer-runs'] as const;
export type InternalRecord = (typeof INTERNAL_RECORDS)[number];

/** Topics whose latest record per key is all that matters: created compacted. */
export const COMPACTED_TOPICS: ReadonlySet<TopicRole> = new Set(['instance-catalog', 'spot-risk', 'hpo-studies', 'advisor-models', 'workload-scaling']);

/**
 * Inputs whose key is a field of the value and decides where the record is processed: the
 * two sides of the feedback join, a dataset's accesses, a study and its trials. A record of
 * these topics without a key, with a key that is not UTF-8, or with a key that is not that
 * field lands on a partition where its partner or its state is not, so it goes to the DLQ
 * (MISSING_KEY, BAD_KEY, KEY_MISMATCH) instead of waiting forever. The catalog and
 * recommendation requests are looked up by value (publishers may key them their own way).
 */
export const INPUT_KEY_FIELDS: Readonly<Partial<Record<InputTopic, string>>> = {
  'job-dispatch': 'job_id',
  'job-outcome': 'job_id',
  'dataset-access': 'dataset_id',
  'hpo-studies': 'study_id',
};

export type AvroJson = null | boolean | number | string | AvroJson[] | { [key: string]: AvroJson };

const NAMESPACE = 'artenic';

function readJson(path: string): Record<string, AvroJson> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, AvroJson>;
}

let commonTypes: Map<string, Record<string, AvroJson>> | undefined;

/** Shared named types, by full name (`artenic.WorkloadProfile`). */
export function loadCommonTypes(): Map<string, Record<string, AvroJson>> {
  if (commonTypes) return commonTypes;
  commonTypes = new Map();
  for (const file of readdirSync(join(SCHEMA_DIR, 'common')).filter((f) => f.endsWith('.avsc')).sort()) {
    const schema = readJson(join(SCHEMA_DIR, 'common', file));
    commonTypes.set(`${String(schema.namespace ?? NAMESPACE)}.${String(schema.name)}`, schema);
  }
  return commonTypes;
}

function fullName(name: string, namespace: string): string {
  return name.includes('.') ? name : `${namespace}.${name}`;
}

/**
 * Inlines references to shared types at their first use, as Avro requires a named type
 * to be defined once, before any reference to it.
 */
function inline(node: AvroJson, namespace: string, defined: Set<string>): AvroJson {
  if (typeof node === 'string') {
    const name = fullName(node, namespace);
    const shared = loadCommonTypes().get(name);
    if (!shared || defined.has(name)) return node;
    defined.add(name);
    return inline(shared, namespace, defined);
  }
  if (Array.isArray(node)) return node.map((n) => inline(n, namespace, defined));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, AvroJson> = { ...node };
  if ((node.type === 'record' || node.type === 'enum' || node.type === 'fixed') && typeof node.name === 'string') {
    defined.add(fullName(node.name, typeof node.namespace === 'string' ? node.namespace : namespace));
  }
  if (node.type === 'record' && Array.isArray(node.fields)) {
    out.fields = node.fields.map((f) => {
      const field = f as Record<string, AvroJson>;
      return { ...field, type: inline(field.type as AvroJson, namespace, defined) };
    });
  } else if (node.type === 'array') {
    out.items = inline(node.items as AvroJson, namespace, defined);
  } else if (node.type === 'map') {
    out.values = inline(node.values as AvroJson, namespace, defined);
  } else if (typeof node.type === 'object' || (typeof node.type === 'string' && loadCommonTypes().has(fullName(node.type, namespace)))) {
    out.type = inline(node.type as AvroJson, namespace, defined);
  }
  return out;
}

const topicSchemas = new Map<TopicRole, Record<string, AvroJson>>();

/** The self-contained value schema of a topic, as registered. */
export function topicSchema(role: TopicRole): Record<string, AvroJson> {
  let schema = topicSchemas.get(role);
  if (!schema) {
    const raw = readJson(join(SCHEMA_DIR, `${role}.avsc`));
    schema = inline(raw, NAMESPACE, new Set()) as Record<string, AvroJson>;
    topicSchemas.set(role, schema);
  }
  return schema;
}

const internalSchemas = new Map<InternalRecord, Record<string, AvroJson>>();

/** The self-contained schema of an internal record, as registered. */
export function internalSchema(name: InternalRecord): Record<string, AvroJson> {
  let schema = internalSchemas.get(name);
  if (!schema) {
    const raw = readJson(join(SCHEMA_DIR, 'internal', `${name}.avsc`));
    schema = inline(raw, NAMESPACE, new Set()) as Record<string, AvroJson>;
    internalSchemas.set(name, schema);
  }
  return schema;
}

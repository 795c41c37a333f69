/**
 * Turns a topic's Avro record into one ClickHouse row, derived from the schema: nested
 * records become `parent_child` columns, arrays and maps JSON strings, bytes base64,
 * timestamp-millis a DateTime64(3). The migrations define the tables; a test checks that
 * they and this mapping agree column for column.
 */
import { topicSchema, type AvroJson, type TopicRole } from '../../schemas/catalog.ts';

type Obj = Record<string, AvroJson>;

export interface ColumnSpec {
  name: string;
  type: string;
  read: (record: Record<string, unknown>) => unknown;
}

export const TABLE_OF_ROLE = (role: TopicRole): string => (role === 'dlq' ? 'dead_letters' : role.replace(/-/g, '_'));

/** Bookkeeping columns every table has after the record's own. */
export const META_COLUMNS = ['_topic', '_partition', '_offset'] as const;

function toDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function jsonOf(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (Buffer.isBuffer(x) ? x.toString('base64') : x));
}

function columnsOf(type: AvroJson, name: string, read: (r: Record<string, unknown>) => unknown, named: Map<string, Obj>, nullable: boolean): ColumnSpec[] {
  const wrap = (t: string) => (nullable ? `Nullable(${t})` : t);
  if (typeof type === 'string') {
    const ref = named.get(type) ?? named.get(type.split('.').pop() ?? type);
    if (ref) return columnsOf(ref, name, read, named, nullable);
    switch (type) {
      case 'string': return [{ name, type: wrap('String'), read }];
      case 'boolean': return [{ name, type: wrap('Bool'), read }];
      case 'int': return [{ name, type: wrap('Int32'), read }];
      case 'long': return [{ name, type: wrap('Int64'), read }];
      case 'float': case 'double': return [{ name, type: wrap('Float64'), read }];
      case 'bytes': return [{ name, type: wrap('String'), read: (r) => { const b = read(r) as Buffer | null; return b ? b.toString('base64') : null; } }];
      default: throw new Error(`unsupported Avro type ${type}`);
    }
  }
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null');
    if (branches.length !== 1) throw new Error(`only [null, T] unions are flattened (${name})`);
    return columnsOf(branches[0] as AvroJson, name, read, named, type.includes('null'));
  }
  const obj = type as Obj;
  if (obj.logicalType === 'timestamp-millis') {
    return [{ name, type: wrap("DateTime64(3, 'UTC')"), read: (r) => { const v = read(r) as number | null; return v === null || v === undefined ? null : toDateTime(v); } }];
  }
  switch (obj.type) {
    case 'record': {
      named.set(String(obj.name), obj);
      if (nullable) return [{ name, type: 'Nullable(String)', read: (r) => { const v = read(r); return v == null ? null : jsonOf(v); } }];
      return (obj.fields as Obj[]).flatMap((f) => {
        const fname = String(f.name);
        const child = (r: Record<string, unknown>) => (read(r) as Record<string, unknown>)[fname];
        return columnsOf(f.type as AvroJson, name ? `${name}_${fname}` : fname, child, named, false);
      });
    }
    case 'enum':
      named.set(String(obj.name), obj);
      return [{ name, type: nullable ? 'Nullable(String)' : 'LowCardinality(String)', read }];
    case 'array': case 'map':
      return [{ name, type: 'String', read: (r) => jsonOf(read(r)) }];
    default:
      return columnsOf(obj.type as AvroJson, name, read, named, nullable);
  }
}

const cache = new Map<TopicRole, ColumnSpec[]>();

/** The record columns of a role's table, in order. */
export function columnsOfRole(role: TopicRole): ColumnSpec[] {
  let cols = cache.get(role);
  if (!cols) {
    cols = columnsOf(topicSchema(role), '', (r) => r, new Map(), false);
    cache.set(role, cols);
  }
  return cols;
}

export function toRow(role: TopicRole, record: Record<string, unknown>, meta: { topic: string; partition: number; offset: string }): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of columnsOfRole(role)) row[c.name] = c.read(record);
  row._topic = meta.topic;
  row._partition = meta.partition;
  row._offset = meta.offset;
  return row;
}

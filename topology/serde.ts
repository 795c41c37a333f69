/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body), through
 * @kafkajs/confluent-schema-registry. Values are decoded with the writer's schema resolved
 * into this service's reader schema, so older producers keep working after a BACKWARD
 * change. Decoding errors are classified into DLQ codes; a registry that cannot be reached
 * is a retriable error instead, because the record is not at fault.
 *
 * The hot path is synchronous: once a writer schema is cached (`hasWriterSchema`),
 * `decodeSync` decodes and validates without a promise, and `encodeSync` encodes with this
 * service's own registered schema (no registry call, no promise). `decode` and `encode`
 * are the async forms that fetch what is not cached yet.
 */
import avro from 'avsc';
import './avroGuards.ts';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import TimeoutMiddleware from 'mappersmith/middleware/timeout';
import { COMPACTED_TOPICS, INTERNAL_RECORDS, TOPIC_ROLES, internalSchema, topicSchema, type InternalRecord, type TopicRole } from '../schemas/catalog.ts';
import type { InternalRecords, TopicRecords } from '../schemas/generated/records.ts';
import { compileValidator, DEFAULT_LIMITS, type EventTimeBounds, type ValidationLimits, type Validator } from '../schemas/validate.ts';
import { ArtenicError, DeadLetterError } from '../common/errors.ts';

export { COMPACTED_TOPICS };

export interface RegistryOptions {
  url: string;
  username: string | null;
  password: string | null;
}

const REGISTRY_TIMEOUT_MS = 60_000;

export function createRegistry(options: RegistryOptions): SchemaRegistry {
  return new SchemaRegistry({
    host: options.url,
    ...(options.username && options.password ? { auth: { username: options.username, password: options.password } } : {}),
    retry: { retries: 3, initialRetryTime: 200 },
    // Without a timeout a registry that accepts the connection but stalls would hang a start
    // or a batch forever; a timed-out call is retried like any other registry failure. Apicurio
    // under load has answered after more than 15 s, so the bound is generous.
    middlewares: [TimeoutMiddleware(REGISTRY_TIMEOUT_MS)],
  } as ConstructorParameters<typeof SchemaRegistry>[0]);
}

/** A registry error that is the registry's fault, not the record's. */
export class RegistryUnavailableError extends ArtenicError {
  constructor(message: string, cause: unknown) {
    super('INFRA', message, { retriable: true, cause });
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { status?: number; message?: string };
  return e?.status === 404 || /\b404\b|not found/i.test(e?.message ?? '');
}

export interface DecodeOptions {
  /**
   * False for records this service wrote itself (its repartition topics): they were valid
   * when encoded from a validated record, so the walk over their fields is skipped.
   */
  validate?: boolean;
}

export class TopicSerde {
  private readonly ids = new Map<TopicRole, number>();
  private readonly readers = new Map<TopicRole, avro.Type>();
  private readonly validators = new Map<TopicRole, Validator>();
  /** Resolvers from a writer schema id into a role's reader schema (null: the same schema). */
  private readonly resolvers = new Map<string, avro.Resolver | null>();
  private readonly writerTypes = new Map<number, avro.Type>();
  private scratch = Buffer.allocUnsafe(64 * 1024);
  /** Internal records: their reader types, and the id each is registered with under its internal topic. */
  private readonly internalReaders = new Map<InternalRecord, avro.Type>();
  private readonly internalIds = new Map<InternalRecord, number>();

  constructor(
    readonly registry: SchemaRegistry,
    private readonly topicNames: Record<TopicRole, string>,
    limits: ValidationLimits = DEFAULT_LIMITS,
  ) {
    for (const role of TOPIC_ROLES) {
      const schema = topicSchema(role);
      this.readers.set(role, avro.Type.forSchema(schema as avro.Schema));
      this.validators.set(role, compileValidator(schema, limits));
    }
    for (const name of INTERNAL_RECORDS) this.internalReaders.set(name, avro.Type.forSchema(internalSchema(name) as avro.Schema));
  }

  /** Registers an internal record under `<topic>-value` of the internal topic that carries it (idempotent). */
  async registerInternal(name: InternalRecord, topic: string): Promise<number> {
    const { id } = await this.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(internalSchema(name)) }, { subject: `${topic}-value` });
    this.internalIds.set(name, id);
    // Its own schema is its writer schema too: no registry round trip to read it.
    if (!this.writerTypes.has(id)) this.writerTypes.set(id, this.internalReaders.get(name) as avro.Type);
    return id;
  }

  /** Encodes an internal record (registerInternal first). */
  async encodeInternal<N extends InternalRecord>(name: N, value: InternalRecords[N]): Promise<Buffer> {
    return this.encodeInternalSync(name, value);
  }

  /** Encodes an internal record synchronously, with the schema registerInternal registered. */
  encodeInternalSync<N extends InternalRecord>(name: N, value: InternalRecords[N]): Buffer {
    const id = this.internalIds.get(name);
    if (id === undefined) throw new Error(`internal record ${name} not registered: call registerInternal() first`);
    return this.encodeWith(this.internalReaders.get(name) as avro.Type, id, value);
  }

  /**
   * Decodes an internal record this service wrote, fetching its writer schema first if
   * needed: resolved from its writer's schema (an older version of the record, or the whole
   * record its alias names), not validated again. Bytes that do not decode are a dead letter
   * all the same.
   */
  async decodeInternal<N extends InternalRecord>(name: N, buffer: Buffer | null): Promise<InternalRecords[N]> {
    if (!this.hasWriterSchema(buffer)) await this.loadWriterSchema(buffer);
    return this.decodeInternalSync(name, buffer);
  }

  /**
   * Decodes an internal record whose writer schema is cached (`hasWriterSchema`),
   * synchronously; see decodeInternal. Throws a plain Error if the schema is not cached
   * (a bug: call `loadWriterSchema` first).
   */
  decodeInternalSync<N extends InternalRecord>(name: N, buffer: Buffer | null): InternalRecords[N] {
    if (!buffer || buffer.length < 5 || buffer[0] !== 0) throw new DeadLetterError('BAD_MAGIC_BYTE', `internal record ${name} not in the Confluent wire format`);
    const id = buffer.readInt32BE(1);
    const writer = this.writerTypes.get(id);
    if (!writer) throw new Error(`writer schema ${id} is not cached: call loadWriterSchema() first`);
    const reader = this.internalReaders.get(name) as avro.Type;
    const cacheKey = `internal:${name}/${id}`;
    let resolver = this.resolvers.get(cacheKey);
    if (resolver === undefined) {
      try {
        resolver = writer === reader || writer.equals(reader) ? null : reader.createResolver(writer);
      } catch (err) {
        throw new DeadLetterError('SCHEMA_MISMATCH', `schema ${id} cannot be read as internal record ${name}: ${(err as Error).message}`, { cause: err });
      }
      this.resolvers.set(cacheKey, resolver);
    }
    try {
      return (resolver ? reader.fromBuffer(buffer.subarray(5), resolver) : reader.fromBuffer(buffer.subarray(5))) as InternalRecords[N];
    } catch (err) {
      throw new DeadLetterError('UNDECODABLE', `Avro body does not decode with schema ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Registers every topic's schema (or those of `roles`) under `<topic>-value` (idempotent) and remembers the ids. */
  async registerAll(roles: readonly TopicRole[] = TOPIC_ROLES): Promise<Map<TopicRole, number>> {
    for (const role of roles) {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(topicSchema(role)) },
        { subject: `${this.topicNames[role]}-value` },
      );
      this.ids.set(role, id);
      // This service's own schema is its writer schema too: no registry round trip to read it.
      if (!this.writerTypes.has(id)) this.writerTypes.set(id, this.readers.get(role) as avro.Type);
    }
    return this.ids;
  }

  schemaId(role: TopicRole): number {
    const id = this.ids.get(role);
    if (id === undefined) throw new Error(`schema of ${role} not registered: call registerAll() first`);
    return id;
  }

  /**
   * Encodes a record of a role in the wire format with this service's registered schema,
   * synchronously. Throws on a value that does not fit its schema (a bug), naming the paths.
   */
  encodeSync<R extends TopicRole>(role: R, value: TopicRecords[R]): Buffer {
    return this.encodeWith(this.readers.get(role) as avro.Type, this.schemaId(role), value);
  }

  /** Encodes a value with a type, in the wire format under schema `id`, through the scratch buffer. */
  private encodeWith(type: avro.Type, id: number, value: unknown): Buffer {
    for (;;) {
      const end = type.encode(value, this.scratch, 5);
      if (end >= 0) {
        const out = Buffer.allocUnsafe(end);
        this.scratch.copy(out, 0, 0, end);
        out[0] = 0;
        out.writeInt32BE(id, 1);
        return out;
      }
      // A negative end is the size missing: grow and encode again.
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end + 5));
    }
  }

  /** Encodes a record of a role in the wire format. Throws on a value that does not fit its schema (a bug). */
  async encode<R extends TopicRole>(role: R, value: TopicRecords[R]): Promise<Buffer> {
    try {
      return this.encodeSync(role, value);
    } catch (err) {
      const paths: string[] = [];
      (this.readers.get(role) as avro.Type).isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
      throw new Error(`a ${role} record does not fit its schema${paths.length > 0 ? ` at ${paths.join(', ')}` : ''}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The writer schema id of a value in the wire format, or null when it is not in it. */
  static schemaIdOf(buffer: Buffer | null): number | null {
    return buffer && buffer.length >= 5 && buffer[0] === 0 ? buffer.readInt32BE(1) : null;
  }

  /** Whether `decodeSync` can decode this value without asking the registry. */
  hasWriterSchema(buffer: Buffer | null): boolean {
    const id = TopicSerde.schemaIdOf(buffer);
    return id === null || this.writerTypes.has(id);
  }

  /**
   * Fetches (once) the writer schema of a value, so that `decodeSync` can decode it. Throws
   * DeadLetterError (UNKNOWN_SCHEMA) when the registry does not know the id (not cached: a
   * later registration may add it), RegistryUnavailableError when it cannot be reached.
   */
  async loadWriterSchema(buffer: Buffer | null): Promise<void> {
    const id = TopicSerde.schemaIdOf(buffer);
    if (id === null || this.writerTypes.has(id)) return;
    try {
      const schema = await this.registry.getSchema(id);
      this.writerTypes.set(id, avro.Type.forSchema(schema as unknown as avro.Schema));
    } catch (err) {
      if (isNotFound(err)) throw new DeadLetterError('UNKNOWN_SCHEMA', `schema id ${id} is not in the registry`, { cause: err });
      throw new RegistryUnavailableError(`registry unavailable while fetching schema ${id}: ${(err as Error).message}`, err);
    }
  }

  /**
   * Decodes and validates one value whose writer schema is cached (`hasWriterSchema`).
   * Throws DeadLetterError (the record's fault); throws a plain Error if the schema is not
   * cached (a bug: call `loadWriterSchema` first).
   */
  decodeSync<R extends TopicRole>(role: R, buffer: Buffer | null, bounds: EventTimeBounds, options: DecodeOptions = {}): TopicRecords[R] {
    if (!buffer || buffer.length === 0) throw new DeadLetterError('EMPTY_VALUE', 'record has no value');
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new DeadLetterError('BAD_MAGIC_BYTE', `not in the Confluent wire format (first byte ${buffer[0] ?? 'none'}, length ${buffer.length})`);
    }
    const id = buffer.readInt32BE(1);
    const writer = this.writerTypes.get(id);
    if (!writer) throw new Error(`writer schema ${id} is not cached: call loadWriterSchema() first`);
    const reader = this.readers.get(role) as avro.Type;
    const cacheKey = `${role}/${id}`;
    let resolver = this.resolvers.get(cacheKey);
    if (resolver === undefined) {
      try {
        resolver = writer === reader || writer.equals(reader) ? null : reader.createResolver(writer);
      } catch (err) {
        throw new DeadLetterError('SCHEMA_MISMATCH', `schema ${id} cannot be read as ${role}: ${(err as Error).message}`, { cause: err });
      }
      this.resolvers.set(cacheKey, resolver);
    }
    let value: TopicRecords[R];
    try {
      const body = buffer.subarray(5);
      value = (resolver ? reader.fromBuffer(body, resolver) : reader.fromBuffer(body)) as TopicRecords[R];
    } catch (err) {
      throw new DeadLetterError('UNDECODABLE', `Avro body does not decode with schema ${id}: ${(err as Error).message}`, { cause: err });
    }
    if (options.validate === false) return value;
    const violation = (this.validators.get(role) as Validator)(value, bounds);
    if (violation) throw new DeadLetterError(violation.code, violation.message);
    return value;
  }

  /**
   * Decodes and validates one value, fetching its writer schema first if needed. Throws
   * DeadLetterError (the record's fault) or RegistryUnavailableError (retriable).
   */
  async decode<R extends TopicRole>(role: R, buffer: Buffer | null, bounds: EventTimeBounds, options: DecodeOptions = {}): Promise<TopicRecords[R]> {
    if (!this.hasWriterSchema(buffer)) await this.loadWriterSchema(buffer);
    return this.decodeSync(role, buffer, bounds, options);
  }
}

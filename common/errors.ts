/**
 * One error hierarchy. Every error has a code from a closed list, a retriable flag and a
 * cause; subclasses are named after the recovery they need (as Kafka Streams does).
 */
export const ERROR_CODES = [
  // Bad input: the record goes to the DLQ and the stream goes on.
  'RECORD_TOO_LARGE',
  'EMPTY_VALUE',
  'BAD_MAGIC_BYTE',
  'UNKNOWN_SCHEMA',
  'UNDECODABLE',
  'SCHEMA_MISMATCH',
  'INVALID_FIELD',
  'EVENT_TIME_OUT_OF_RANGE',
  'LATE_EVENT',
  // A processor threw on the record (streams.processingErrors=dlq): Kafka Streams' processing-exception handler.
  'PROCESSING_ERROR',
  'STRING_TOO_LONG',
  'MISSING_KEY',
  'KEY_MISMATCH',
  'BAD_KEY',
  'CONFLICTING_DUPLICATE',
  // A key on another partition than the one it belongs to (another client's partitioner), with streams.mispartitioned=dlq.
  'MISPARTITIONED',
  // Records that leave a store without their partner.
  'OUTCOME_TIMEOUT',
  'PENDING_CAPACITY',
  'ORPHAN_OUTCOME',
  // Operational.
  'CONFIG',
  'USAGE',
  'CLICKHOUSE_LOCKED',
  'CLICKHOUSE_CRASHED',
  'TASK_CORRUPTED',
  'TASK_MIGRATED',
  'SINK_UNAVAILABLE',
  'RETRIES_EXCEEDED',
  'INFRA',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ArtenicError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A bad setting; the service does not start. */
export class ConfigError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIG', message, options);
  }
}

/** A command used wrongly: a bad argument, option value or combination. The CLI exits 2. */
export class UsageError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('USAGE', message, options);
  }
}

/**
 * The embedded ClickHouse data directory is held by another process (chdb allows one engine
 * per directory): query that process's SQL endpoint, stop it, or use a ClickHouse server.
 */
export class EngineLockedError extends ArtenicError {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number | null,
    options: { cause?: unknown } = {},
  ) {
    super(
      'CLICKHOUSE_LOCKED',
      `the embedded ClickHouse in ${dataDir} is in use by ${holderPid === null ? 'another process' : `process ${holderPid}`} (a running service?): query it through that service's SQL endpoint (sql.host:sql.port), stop it, or point both at a ClickHouse server (ARTENIC_CLICKHOUSE_URL)`,
      options,
    );
  }
}

/**
 * The process that runs the embedded ClickHouse engine died. Retriable while it is being
 * respawned (the statement did not complete and may be sent again); not retriable once it
 * died `maxRestarts` times within the restart window: the engine keeps crashing (its data
 * directory, memory or the chdb build), and the service stops rather than loop.
 */
export class EngineCrashedError extends ArtenicError {
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super('CLICKHOUSE_CRASHED', message, options);
  }
}

/** A record that cannot be processed: it goes to the DLQ with this code and message. */
export class DeadLetterError extends ArtenicError {
  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A task's in-memory state can no longer be trusted (a transaction failed): drop it and restore from the changelog. */
export class TaskCorruptedError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TASK_CORRUPTED', message, { retriable: true, ...options });
  }
}

/**
 * A task's producer was fenced: a newer owner of the task initialised the same transactional
 * id (this instance paused, say, and its partitions moved). Nothing of the transaction
 * committed; the task is dropped (not the instance), and made again, fencing in turn, only if
 * the partition is still this instance's once it has rejoined its group.
 */
export class TaskMigratedError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TASK_MIGRATED', message, { retriable: true, ...options });
  }
}

/** The ClickHouse sink could not write; consumption pauses and the insert is retried. */
export class SinkUnavailableError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('SINK_UNAVAILABLE', message, { retriable: true, ...options });
  }
}

/** A retriable operation failed every attempt; the cause is the last failure. */
export class RetriesExceededError extends ArtenicError {
  constructor(what: string, attempts: number, cause: unknown) {
    super('RETRIES_EXCEEDED', `${what}: gave up after ${attempts} attempts: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Local infrastructure (broker, registry) could not be fetched or started. */
export class InfraError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INFRA', message, options);
  }
}

/** What a failure handler decides: Kafka Streams' CONTINUE / FAIL. */
export type HandlerResponse = 'continue' | 'fail';

/**
 * Runs `fn` until it succeeds, with exponential backoff. Programming errors (anything that
 * is not an ArtenicError marked retriable, unless `retryAll`) are thrown at once.
 */
export async function withRetries<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  options: { retries: number; initialDelayMs?: number; maxDelayMs?: number; retryAll?: boolean; onRetry?: (err: unknown, attempt: number) => void },
): Promise<T> {
  let delay = options.initialDelayMs ?? 100;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const retriable = options.retryAll || (err instanceof ArtenicError && err.retriable);
      if (!retriable) throw err;
      if (attempt >= options.retries) throw new RetriesExceededError(what, attempt + 1, err);
      options.onRetry?.(err, attempt + 1);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 10_000);
    }
  }
}

/**
 * Service configuration: one schema, one defaults constant, every key documented here.
 *
 * Sources, later wins: DEFAULTS < JSON file (ARTENIC_CONFIG or --config) < environment.
 * Every leaf has an environment variable: `ARTENIC_` + its path in UPPER_SNAKE, e.g.
 * `feedback.pendingTtlMs` -> `ARTENIC_FEEDBACK_PENDING_TTL_MS`. Lists are comma-separated.
 * A bad setting fails at start with its path and its variable in the message.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { TOPIC_ROLES, type TopicRole } from '../schemas/catalog.ts';
import { ConfigError } from '../common/errors.ts';
import { ModelFrameworkValues, type ModelFramework } from '../schemas/generated/records.ts';

const DAY_MS = 86_400_000;

/**
 * The default `kafka.instanceId`: the host name (characters other than letters, digits, `.`,
 * `_` and `-` become `-`) and the process id, so that two default instances differ whether they
 * run on two hosts (or containers, whose pid is often 1 but whose host names differ) or on one.
 */
export function defaultInstanceId(host: string = hostname(), pid: number = process.pid): string {
  const name = host.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'instance';
  return `${name}-${pid}`;
}

const topicNames = Object.fromEntries(TOPIC_ROLES.map((role) => [role, role])) as Record<TopicRole, string>;

/** Working local defaults: anything unset runs against the local stack `make run` starts. */
export const DEFAULTS = {
  kafka: {
    /** Bootstrap brokers. Empty: `make run` starts a local broker and fills this in. */
    brokers: [] as string[],
    /** kafkajs client id. */
    clientId: 'artenic-optimizer',
    /** Kafka Streams' application.id: consumer group, changelog prefix, transactional id prefix. */
    applicationId: 'artenic-optimizer',
    /**
     * This instance's name in its consumer groups (the clients' id is `<clientId>-<instanceId>`)
     * and its logs; a warning at start says when another live member of the group uses the
     * same one. Transactional ids are per task (`<applicationId>-<partition>`), so it need not be
     * stable across restarts. Default: `<hostname>-<pid>` (defaultInstanceId).
     */
    instanceId: defaultInstanceId(),
    /** Partitions of every topic created by the service (inputs must be co-partitioned). */
    partitions: 4,
    replicationFactor: 1,
    /** TLS to the brokers. */
    ssl: false,
    /** PEM file of the CA that signed the brokers' certificates (with ssl). */
    sslCaFile: null as string | null,
    /** SASL mechanism: none, plain, scram-sha-256 or scram-sha-512. */
    saslMechanism: 'none' as 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512',
    saslUsername: null as string | null,
    saslPassword: null as string | null,
    /** Session timeout of the consumer groups. */
    sessionTimeoutMs: 30_000,
    /**
     * Transaction timeout of the tasks' transactional producers (Kafka Streams' 10 s): how long
     * a transaction left open by a crash can hold read_committed readers back before the broker
     * aborts it (a new owner of the task aborts it at once).
     */
    transactionTimeoutMs: 10_000,
  },
  registry: {
    /** Confluent-compatible registry URL. Empty: the local Apicurio `make run` starts. */
    url: null as string | null,
    username: null as string | null,
    password: null as string | null,
  },
  clickhouse: {
    /** A ClickHouse server, e.g. http://127.0.0.1:8123. Empty: the embedded engine (chdb). */
    url: null as string | null,
    username: 'default',
    password: null as string | null,
    database: 'artenic',
    /** Where the embedded engine keeps its data. */
    dataDir: 'data/clickhouse',
    /** The embedded engine runs in a child process, restarted when it dies: at most this many restarts within the window, then it is given up (EngineCrashedError, CLICKHOUSE_CRASHED). */
    engineMaxRestarts: 3,
    engineRestartWindowMs: 60_000,
  },
  /** Topic name of each role. */
  topics: topicNames,
  streams: {
    /** How late (event time) a record may arrive after stream time and still count. */
    graceMs: 5 * 60_000,
    /** Upper bound on records a task takes out of its buffers in one processing round. */
    maxBatchRecords: 1_000,
    /**
     * How often the open transactions commit (Kafka Streams' commit.interval.ms under EOS):
     * outputs are sent as they are produced, inside each task's open transaction, and every
     * task with an open one commits once per interval, side by side, or at once when the
     * input has run dry (low latency at low load). 0 commits after every processing round.
     */
    commitIntervalMs: 100,
    /** Stream time that passes between two punctuations (TTL sweeps). */
    punctuateIntervalMs: 60_000,
    /** kafkajs fetch size per partition. */
    maxBytesPerPartition: 1_048_576,
    /**
     * How long a task waits for an input that is behind its end (a backlog) but has nothing
     * fetched yet, before it goes on without it (Kafka Streams' max.task.idle.ms). Tasks take
     * records in event-time order across their inputs; this bounds the wait for the slowest.
     */
    maxTaskIdleMs: 5_000,
    /** Decoded records a task buffers per input partition before that partition's fetches pause. */
    maxBufferedRecords: 5_000,
    /**
     * A processor that throws on a record (Kafka Streams' processing-exception handler,
     * KIP-1033): `dlq` sends the record to the DLQ as PROCESSING_ERROR with the message and
     * its original bytes, and the stream goes on; `fail` fails the batch (tasks restored, the
     * record processed again: one bad record stops the instance until it is fixed).
     */
    processingErrors: 'dlq' as 'dlq' | 'fail',
    /**
     * Root of the task snapshot directories (Kafka Streams' state.dir): snapshots go to
     * `<stateDir>/<applicationId>/`; empty: `<os.tmpdir()>/artenic-streams`. Use a disk that
     * outlives the process, and one directory per instance on a shared host.
     */
    stateDir: null as string | null,
    /** Snapshot each task's committed state to `stateDir`, so a restart reads only the changelog tail; false: every restore reads whole changelogs. */
    snapshotsEnabled: true,
    /** At most one snapshot per task per this interval (written after a commit). */
    snapshotIntervalMs: 30_000,
    /** A task is snapshotted only once this many changelog records were written (or restored) since its last snapshot. */
    snapshotMinRecords: 10_000,
    /**
     * A record of a key-joined input whose key does not belong, under murmur2 (this service's
     * and Java's partitioner), to the partition it arrived on (published with librdkafka's
     * CRC32, say): `reroute` sends it through `<applicationId>-<topic>-rerouted` to the
     * partition where its key belongs; `dlq` dead-letters it as MISPARTITIONED.
     */
    mispartitioned: 'reroute' as 'reroute' | 'dlq',
  },
  validation: {
    /** Event times before this (epoch ms) are rejected to the DLQ. Default 2015-01-01. */
    minEventTimeMs: Date.UTC(2015, 0, 1),
    /** Event times further than this ahead of the wall clock are rejected to the DLQ. */
    maxFutureSkewMs: DAY_MS,
    /** Records larger than this are rejected to the DLQ without decoding. */
    maxRecordBytes: 1_048_576,
    /** Strings (and map keys) longer than this, in characters, are rejected to the DLQ as STRING_TOO_LONG. */
    maxStringLength: 65_536,
  },
  feedback: {
    /** A dispatch waits this long (event time) for its outcome, then leaves the store for the DLQ. */
    pendingTtlMs: 7 * DAY_MS,
    /** Pending dispatches kept per partition; past it the oldest leave for the DLQ. */
    maxPendingPerPartition: 100_000,
    /** How long a finished job id is remembered, to drop duplicate outcomes. */
    completedTtlMs: 2 * DAY_MS,
    /** Label 4 (optimal): succeeded within these ratios of the estimates. */
    optimalCostRatio: 0.9,
    optimalDurationRatio: 0.9,
    /** Label 3 (good). */
    goodCostRatio: 1.1,
    goodDurationRatio: 1.1,
    /** Label 2 (adequate); anything worse that succeeded is 1 (poor). */
    adequateCostRatio: 1.5,
    adequateDurationRatio: 1.5,
    /** A relative metric change below this (e.g. -0.01 = 1% worse than baseline) costs one label step. */
    metricRegressionTolerance: -0.01,
    /** A relative metric gain at or above this earns one label step (never above 4). */
    metricGainBonus: 0.05,
    /** A job that succeeded after preemptions loses one step when it had no checkpointing. */
    preemptionPenalty: true,
  },
  storage: {
    /** HOT: accessed within this many days... */
    hotIdleDays: 7,
    /** ...or more than this many accesses in 30 days. */
    hotMonthlyAccesses: 4,
    /** Hysteresis: a HOT dataset stays HOT while it has at least this many accesses in 30 days. */
    hotExitMonthlyAccesses: 3,
    /** Hysteresis: a WARM or COLD dataset returns to HOT on a recent access only with accesses on this many distinct days of the last 7. */
    hotEntryDaysInWeek: 2,
    /** COLD: no access for this many days... */
    coldIdleDays: 90,
    /** ...and fewer than this many accesses a month over 90 days. The 30-90-day band is WARM. */
    coldMonthlyAccesses: 1,
    /** Datasets under this size stay HOT (per-object fees outweigh savings; S3 and GCS do the same under 128 KiB). */
    minTieringBytes: 131_072,
    /** Under this size: keep the format as it is. */
    keepAsIsBytes: 10_000_000,
    /** CSV over this size: convert to Parquet, assumed this many times smaller (3-5x). */
    csvParquetBytes: 100_000_000,
    csvParquetRatio: 4,
    /** Tabular JSON over this size: Parquet or JSONL, assumed this many times smaller (2-4x). */
    jsonBytes: 50_000_000,
    jsonParquetRatio: 3,
    /** USD per GiB-month: S3 Standard, Standard-IA, Glacier Instant Retrieval (us-east-1 list prices). */
    priceHotPerGibMonth: 0.023,
    priceWarmPerGibMonth: 0.0125,
    priceColdPerGibMonth: 0.004,
    /** Operations that count as an access. */
    countedOperations: ['READ', 'DOWNLOAD'] as string[],
    /** Versions remembered per dataset for growth. */
    maxVersionsKept: 12,
  },
  advisor: {
    /** Training runs kept in advisor-models (the newest by sequence, and always the serving one); older ones are tombstoned. */
    keepModels: 5,
    /** Heuristic ranker weights (normalised by their sum): cheaper, faster, more GPU memory headroom, fewer preemptions. */
    weightCost: 0.4,
    weightGpu: 0.3,
    weightMemory: 0.2,
    weightReliability: 0.1,
    /** Weights for requests whose goal is COST or SPEED (BALANCED, the default goal, uses the weights above). */
    goalWeights: {
      COST: { cost: 0.7, gpu: 0.1, memory: 0.1, reliability: 0.1 },
      SPEED: { cost: 0.1, gpu: 0.7, memory: 0.1, reliability: 0.1 },
    },
    /** The goal of the suggestion made for each dispatch (dispatches carry none). COST: the savings report compares what was spent with the cheapest pick for the job's needs. */
    dispatchGoal: 'COST' as 'COST' | 'SPEED' | 'BALANCED',
    /** Alternatives listed in the suggestion made for each dispatch. */
    dispatchTopK: 5,
    /** heuristic, ltr or hybrid. LTR and HYBRID serve once a learned model has been promoted (HEURISTIC until then). */
    mode: 'hybrid' as 'heuristic' | 'ltr' | 'hybrid',
    /** HYBRID: the learned model's share of the score (the heuristic has the rest). */
    ltrWeight: 0.7,
    /** The learned ranker trains once this many relevance labels are in... */
    minTrainingLabels: 50,
    /** ...and again after each this many new ones... */
    retrainEveryLabels: 200,
    /** ...but not sooner than this much stream time after the previous run. */
    retrainMinIntervalMs: 3_600_000,
    /** (workload, offer) documents kept for training; the least recently labelled leave first. Bounds a training run (about 1.2 s at 4,000 documents on 2 cores: BENCHMARKS.md). */
    maxTrainingDocs: 5_000,
    /** Share of queries (workload classes, with all their documents) held out to evaluate each model (chosen by a hash, the same everywhere). */
    heldOutFraction: 0.2,
    /** LambdaMART: trees, leaves per tree, learning rate, least documents in a leaf. */
    trees: 100,
    leaves: 15,
    learningRate: 0.1,
    minDataInLeaf: 3,
    /** A learned model is promoted, and keeps serving, only while its held-out NDCG@5 beats the heuristic's on the same queries by more than this. */
    minGainOverHeuristic: 0,
    /**
     * ...and while its observed cost regret (its top picks' realized cost per success against the cheapest offer each
     * held-out query ran on) is not above the heuristic's by more than this (0.05 = 5 points). Labels grade runs against
     * the platform's own estimates, not against each other, so a model can win on NDCG with dearer picks.
     */
    maxCostRegretGap: 0,
    /**
     * Offers that give a job more than this many times the GPUs it uses leave the candidates, when an offer closer to its
     * size fits: idle GPUs are paid for and never make it faster. 1: a job gets exactly the GPUs it uses whenever some offer
     * allows it, else the smallest allocation that fits (bench/advisor-regret.ts measures 2 against 1: the same cost).
     */
    maxGpuOverprovision: 1,
    /** Per-GPU memory headroom (offer / need) up to which the memory score grows; more brings nothing (a margin against OOM, not a goal). */
    memoryHeadroomTarget: 1.25,
    /** Suggestions are made once per request id and per dispatch's job id; the ids are remembered this long in stream time, so a duplicate within it is dropped... */
    dedupeTtlMs: 7 * DAY_MS,
    /** ...and at most this many per partition (the oldest are forgotten first). */
    maxRememberedIds: 200_000,
    /**
     * Scaling efficiency priors (Amdahl's law: on g GPUs a job runs 1 / ((1 - p) + p / g) times faster than on one), the
     * fallback until runs of a workload class teach its own p. Defaults: deep-learning frameworks 0.97 (8 GPUs of one
     * machine at 83% efficiency), gradient-boosting libraries that split work across GPUs 0.7 / 0.5, scikit-learn 0 (one
     * GPU at most is used), anything else 0.9.
     */
    scaling: {
      parallelFraction: { PYTORCH: 0.97, TENSORFLOW: 0.97, JAX: 0.97, HUGGINGFACE: 0.97, XGBOOST: 0.7, LIGHTGBM: 0.5, SKLEARN: 0, OTHER: 0.9 } as Record<ModelFramework, number>,
      /** Overrides by model family: the first of these words the family contains (transformers scale better than small CNNs, whose input pipeline bounds them). */
      familyParallelFraction: { transformer: 0.98, gpt: 0.98, llama: 0.98, bert: 0.97, t5: 0.98, vit: 0.97, cnn: 0.95, resnet: 0.95, efficientnet: 0.95, unet: 0.95 } as Record<string, number>,
      /** Speed kept when a distributed job spans machines (network instead of NVLink between them), once, on top of Amdahl. */
      interNodeEfficiency: 0.8,
      /** Multi-GPU runs the prior is worth: the learned p is (runs x observed + this x prior) / (runs + this). */
      priorWeightRuns: 5,
      /** A class's scaling record is emitted again when its p moves by this much. */
      emitMinDelta: 0.005,
      /** Workload classes remembered (the least recently seen leave first). */
      maxClasses: 5_000,
    },
  },
  hpo: {
    /** A trial with no result after this much stream time (never dispatched, or cancelled) is failed and its slot reused. */
    trialTimeoutMs: 7 * DAY_MS,
    /** Completed trials each study's models keep (best and most recent); bounds the stored state. */
    maxHistory: 500,
    /** A finished study (its budget used) leaves the store this much stream time after it finished (a changelog tombstone). */
    keepFinishedMs: 7 * DAY_MS,
  },
  spot: {
    /** Beta prior of the per-run preemption rate: mean priorA / (priorA + priorB), worth priorA + priorB runs. */
    priorA: 1,
    priorB: 9,
    /** Mass of the reported credible interval. */
    credibleLevel: 0.9,
    /** Recommend spot when it saves more than this (percent of on-demand)... */
    minSavingsPct: 30,
    /** ...and the preemption rate (posterior mean) is below this... */
    maxPreemptionRate: 0.2,
    /** ...and the job checkpoints. */
    requireCheckpointing: true,
    /** Paid downtime after each preemption, in hours. */
    restartHours: 0.1,
    /** Checkpoint interval of a job that checkpoints, in hours. */
    checkpointHours: 0.5,
    /** A new spot-risk record is emitted when the band or the verdict changes, or the rate moves this much. */
    emitMinRateDelta: 0.01,
  },
  anomalies: {
    /** Runs of a workload class on an offer needed before any is judged. */
    minSamples: 20,
    /** Modified z-score (0.6745 (x - median) / MAD) above which a run is an anomaly (Iglewicz-Hoaglin: 3.5). */
    threshold: 3.5,
    /** ...and the cost is at least this many times the median (an effect-size floor). */
    minRatioToMedian: 1.5,
    /** Costs remembered per workload class and offer. */
    maxHistory: 200,
  },
  sink: {
    /** Rows buffered before a batch insert. */
    flushRows: 5_000,
    /** Longest a row waits in the buffer. */
    flushIntervalMs: 1_000,
    /** Consumption pauses above this many buffered rows (backpressure; one fetch may pass it). Failed inserts are retried with backoff (200 ms doubling to 10 s) for as long as it takes: nothing is dropped. */
    maxBufferedRows: 50_000,
  },
  http: {
    /** Status page, /metrics, /healthz. Loopback unless set otherwise. */
    host: '127.0.0.1',
    port: 8088,
  },
  sql: {
    /**
     * The SQL endpoint: a read-only ClickHouse HTTP interface over the embedded engine, on its
     * own port, for analysts, Grafana and the CLI while the service runs (with a ClickHouse
     * server configured, query the server instead: the endpoint is off). Loopback unless set otherwise.
     */
    enabled: true,
    host: '127.0.0.1',
    /** 0 picks a free port. Not 8123, so that it never collides with a local ClickHouse server. */
    port: 8124,
    /** Basic auth for the endpoint; both unset: no password is asked. */
    username: null as string | null,
    password: null as string | null,
    /** Queries run at once; the others wait their turn. */
    maxConcurrentQueries: 4,
    /** Per-query limits (the query may lower them, or raise them: it may change settings, never write). */
    maxExecutionTimeS: 60,
    maxResultBytes: 256 * 1024 * 1024,
  },
  log: {
    level: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent',
  },
  tracing: {
    /** OpenTelemetry traces (a span per committed batch and per ClickHouse insert), sent over OTLP/HTTP. Off by default. */
    enabled: false,
    /** The collector's OTLP/HTTP traces endpoint. */
    endpoint: 'http://127.0.0.1:4318/v1/traces',
    serviceName: 'artenic-optimizer',
    /** Share of traces kept (parent-based ratio sampling). */
    sampleRatio: 1,
  },
};

const positive = z.number().finite().positive();
const nonNegative = z.number().finite().nonnegative();
const ratio = z.number().finite().positive();
const fraction = z.number().min(0).max(1);
const weightSet = z
  .object({ cost: nonNegative, gpu: nonNegative, memory: nonNegative, reliability: nonNegative })
  .refine((w) => w.cost + w.gpu + w.memory + w.reliability > 0, 'the weights must not all be 0');

export const ConfigSchema = z
  .object({
    kafka: z.object({
      brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')),
      clientId: z.string().min(1),
      applicationId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
      instanceId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
      partitions: z.number().int().min(1).max(1024),
      replicationFactor: z.number().int().min(1),
      ssl: z.boolean(),
      sslCaFile: z.string().nullable(),
      saslMechanism: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']),
      saslUsername: z.string().nullable(),
      saslPassword: z.string().nullable(),
      sessionTimeoutMs: z.number().int().min(6_000),
      transactionTimeoutMs: z.number().int().min(1_000),
    }),
    registry: z.object({
      url: z.url().nullable(),
      username: z.string().nullable(),
      password: z.string().nullable(),
    }),
    clickhouse: z.object({
      url: z.url().nullable(),
      username: z.string(),
      password: z.string().nullable(),
      database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an identifier'),
      dataDir: z.string().min(1),
      engineMaxRestarts: z.number().int().min(0),
      engineRestartWindowMs: positive,
    }),
    topics: z.object(
      Object.fromEntries(TOPIC_ROLES.map((r) => [r, z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a legal topic name')])) as Record<
        TopicRole,
        z.ZodString
      >,
    ),
    streams: z.object({ graceMs: nonNegative, punctuateIntervalMs: positive, maxBatchRecords: z.number().int().min(1), commitIntervalMs: nonNegative, maxBytesPerPartition: z.number().int().min(1024), maxTaskIdleMs: nonNegative, maxBufferedRecords: z.number().int().min(1), mispartitioned: z.enum(['reroute', 'dlq']), processingErrors: z.enum(['dlq', 'fail']), stateDir: z.string().min(1).nullable(), snapshotsEnabled: z.boolean(), snapshotIntervalMs: nonNegative, snapshotMinRecords: z.number().int().min(1) }),
    validation: z.object({ minEventTimeMs: nonNegative, maxFutureSkewMs: nonNegative, maxRecordBytes: z.number().int().min(64), maxStringLength: z.number().int().min(1) }),
    feedback: z.object({
      pendingTtlMs: positive,
      maxPendingPerPartition: z.number().int().min(1),
      completedTtlMs: nonNegative,
      optimalCostRatio: ratio,
      optimalDurationRatio: ratio,
      goodCostRatio: ratio,
      goodDurationRatio: ratio,
      adequateCostRatio: ratio,
      adequateDurationRatio: ratio,
      metricRegressionTolerance: z.number().finite().max(0),
      metricGainBonus: z.number().finite().positive(),
      preemptionPenalty: z.boolean(),
    }),
    storage: z.object({
      hotIdleDays: positive,
      hotMonthlyAccesses: nonNegative,
      hotExitMonthlyAccesses: nonNegative,
      hotEntryDaysInWeek: z.number().int().min(1).max(7),
      coldIdleDays: positive,
      coldMonthlyAccesses: nonNegative,
      minTieringBytes: nonNegative,
      keepAsIsBytes: nonNegative,
      csvParquetBytes: nonNegative,
      csvParquetRatio: z.number().finite().min(1),
      jsonBytes: nonNegative,
      jsonParquetRatio: z.number().finite().min(1),
      priceHotPerGibMonth: nonNegative,
      priceWarmPerGibMonth: nonNegative,
      priceColdPerGibMonth: nonNegative,
      countedOperations: z.array(z.enum(['READ', 'WRITE', 'DOWNLOAD'])).min(1),
      maxVersionsKept: z.number().int().min(1),
    }),
    advisor: z.object({
      keepModels: z.number().int().min(1),
      weightCost: nonNegative,
      weightGpu: nonNegative,
      weightMemory: nonNegative,
      weightReliability: nonNegative,
      goalWeights: z.object({ COST: weightSet, SPEED: weightSet }),
      dispatchGoal: z.enum(['COST', 'SPEED', 'BALANCED']),
      dispatchTopK: z.number().int().min(1).max(100),
      mode: z.enum(['heuristic', 'ltr', 'hybrid']),
      ltrWeight: z.number().min(0).max(1),
      minTrainingLabels: z.number().int().min(2),
      retrainEveryLabels: z.number().int().min(1),
      retrainMinIntervalMs: z.number().int().min(0),
      maxTrainingDocs: z.number().int().min(10),
      heldOutFraction: z.number().gt(0).max(0.5),
      trees: z.number().int().min(1).max(2000),
      leaves: z.number().int().min(2).max(256),
      learningRate: z.number().gt(0).max(1),
      minDataInLeaf: z.number().int().min(1),
      minGainOverHeuristic: z.number().min(0).max(1),
      maxCostRegretGap: nonNegative,
      maxGpuOverprovision: z.number().min(1),
      memoryHeadroomTarget: z.number().min(1),
      dedupeTtlMs: nonNegative,
      maxRememberedIds: z.number().int().min(1),
      scaling: z.object({
        parallelFraction: z.object(Object.fromEntries(ModelFrameworkValues.map((f) => [f, fraction])) as Record<ModelFramework, typeof fraction>),
        familyParallelFraction: z.record(z.string().min(1), fraction),
        interNodeEfficiency: z.number().gt(0).max(1),
        priorWeightRuns: nonNegative,
        emitMinDelta: nonNegative,
        maxClasses: z.number().int().min(1),
      }),
    }),
    hpo: z.object({
      trialTimeoutMs: z.number().int().min(1000),
      maxHistory: z.number().int().min(10).max(100_000),
      keepFinishedMs: nonNegative,
    }),
    spot: z.object({
      priorA: positive,
      priorB: positive,
      credibleLevel: z.number().gt(0).lt(1),
      minSavingsPct: z.number().finite().min(0).max(100),
      maxPreemptionRate: z.number().gt(0).max(1),
      requireCheckpointing: z.boolean(),
      restartHours: nonNegative,
      checkpointHours: positive,
      emitMinRateDelta: nonNegative,
    }),
    anomalies: z.object({
      minSamples: z.number().int().min(3),
      threshold: positive,
      minRatioToMedian: z.number().finite().min(1),
      maxHistory: z.number().int().min(3),
    }),
    sink: z.object({
      flushRows: z.number().int().min(1),
      flushIntervalMs: z.number().int().min(10),
      maxBufferedRows: z.number().int().min(1),
    }),
    http: z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }),
    sql: z.object({
      enabled: z.boolean(),
      host: z.string().min(1),
      port: z.number().int().min(0).max(65535),
      username: z.string().min(1).nullable(),
      password: z.string().nullable(),
      maxConcurrentQueries: z.number().int().min(1),
      maxExecutionTimeS: z.number().int().min(1),
      maxResultBytes: z.number().int().min(1),
    }),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }),
    tracing: z.object({ enabled: z.boolean(), endpoint: z.url(), serviceName: z.string().min(1), sampleRatio: z.number().min(0).max(1) }),
  })
  .superRefine((c, ctx) => {
    const f = c.feedback;
    if (!(f.optimalCostRatio <= f.goodCostRatio && f.goodCostRatio <= f.adequateCostRatio)) {
      ctx.addIssue({ code: 'custom', path: ['feedback', 'goodCostRatio'], message: 'cost ratios must satisfy optimal <= good <= adequate' });
    }
    if (!(f.optimalDurationRatio <= f.goodDurationRatio && f.goodDurationRatio <= f.adequateDurationRatio)) {
      ctx.addIssue({ code: 'custom', path: ['feedback', 'goodDurationRatio'], message: 'duration ratios must satisfy optimal <= good <= adequate' });
    }
    if (c.kafka.saslMechanism !== 'none' && (!c.kafka.saslUsername || !c.kafka.saslPassword)) {
      ctx.addIssue({ code: 'custom', path: ['kafka', 'saslUsername'], message: 'SASL needs a username and a password' });
    }
    if (c.streams.commitIntervalMs * 2 > c.kafka.transactionTimeoutMs) {
      // An open transaction older than the timeout is aborted by the broker: its work is lost and the task restored.
      ctx.addIssue({ code: 'custom', path: ['streams', 'commitIntervalMs'], message: 'must be at most half of kafka.transactionTimeoutMs (the broker aborts a transaction open longer than that)' });
    }
    if ((c.registry.username === null) !== (c.registry.password === null)) {
      ctx.addIssue({ code: 'custom', path: ['registry', 'username'], message: 'registry basic auth needs both username and password' });
    }
    const st = c.storage;
    if (!(st.hotIdleDays < st.coldIdleDays)) {
      ctx.addIssue({ code: 'custom', path: ['storage', 'coldIdleDays'], message: 'must be greater than storage.hotIdleDays' });
    }
    if (st.hotExitMonthlyAccesses > st.hotMonthlyAccesses + 1) {
      ctx.addIssue({ code: 'custom', path: ['storage', 'hotExitMonthlyAccesses'], message: 'must be at most storage.hotMonthlyAccesses + 1 (it is the lower edge of the hysteresis band)' });
    }
    if (!(st.priceColdPerGibMonth <= st.priceWarmPerGibMonth && st.priceWarmPerGibMonth <= st.priceHotPerGibMonth)) {
      ctx.addIssue({ code: 'custom', path: ['storage', 'priceWarmPerGibMonth'], message: 'prices must satisfy cold <= warm <= hot' });
    }
    const a = c.advisor;
    if (a.weightCost + a.weightGpu + a.weightMemory + a.weightReliability <= 0) {
      ctx.addIssue({ code: 'custom', path: ['advisor', 'weightCost'], message: 'the advisor weights must not all be 0' });
    }
    if (c.anomalies.maxHistory < c.anomalies.minSamples) {
      ctx.addIssue({ code: 'custom', path: ['anomalies', 'maxHistory'], message: 'must be >= anomalies.minSamples' });
    }
    if ((c.sql.username === null) !== (c.sql.password === null)) {
      ctx.addIssue({ code: 'custom', path: ['sql', 'username'], message: 'SQL endpoint basic auth needs both username and password' });
    }
    if (c.sql.enabled && c.http.host === c.sql.host && c.http.port === c.sql.port && c.http.port !== 0) {
      ctx.addIssue({ code: 'custom', path: ['sql', 'port'], message: 'must differ from http.port' });
    }
    if (c.sink.maxBufferedRows < c.sink.flushRows) {
      ctx.addIssue({ code: 'custom', path: ['sink', 'maxBufferedRows'], message: 'must be >= sink.flushRows' });
    }
    const names = Object.values(c.topics);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', path: ['topics'], message: 'two roles share one topic name' });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** `feedback.pendingTtlMs` -> `ARTENIC_FEEDBACK_PENDING_TTL_MS`. */
export function envName(path: readonly string[]): string {
  return 'ARTENIC_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toUpperCase()).join('_');
}

type Tree = { [key: string]: unknown };

function leaves(tree: Tree, prefix: string[] = []): Array<[string[], unknown]> {
  return Object.entries(tree).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Tree, [...prefix, k]) : [[[...prefix, k], v] as [string[], unknown]],
  );
}

function coerce(raw: string, example: unknown, path: string[]): unknown {
  const setting = `${path.join('.')} (${envName(path)})`;
  if (Array.isArray(example)) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof example === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || Number.isNaN(n)) throw new ConfigError(`invalid setting ${setting}: expected a number, got '${raw}'`);
    return n;
  }
  if (typeof example === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`invalid setting ${setting}: expected true or false, got '${raw}'`);
  }
  return raw === '' ? null : raw;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    node[key] = { ...((node[key] as Tree | undefined) ?? {}) };
    node = node[key] as Tree;
  }
  node[path[path.length - 1] as string] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Tree, v as Tree) : v;
  }
  return out;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** JSON config file; defaults to $ARTENIC_CONFIG. */
  file?: string | null;
  /** Applied last, for tests and the CLI. */
  overrides?: Tree;
}

/** Loads and validates the configuration; throws ConfigError naming the bad setting. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  let tree: Tree = structuredClone(DEFAULTS) as Tree;
  const file = options.file ?? env.ARTENIC_CONFIG ?? null;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    tree = merge(tree, parsed as Tree);
  }
  const fromEnv: Tree = {};
  for (const [path, example] of leaves(DEFAULTS as Tree)) {
    const raw = env[envName(path)];
    if (raw !== undefined) setPath(fromEnv, path, coerce(raw, example, path));
  }
  tree = merge(tree, fromEnv);
  if (options.overrides) tree = merge(tree, options.overrides);
  const result = ConfigSchema.safeParse(tree);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.map(String);
      return `invalid setting ${path.join('.')} (${envName(path)}): ${issue.message}`;
    });
    throw new ConfigError(lines.join('; '));
  }
  return result.data;
}

/** Every environment variable the service reads, with its default: for `--help` and the README. */
export function describeSettings(): Array<{ path: string; env: string; default: string }> {
  return leaves(DEFAULTS as Tree).map(([path, value]) => ({
    path: path.join('.'),
    env: envName(path),
    default: value === null ? '' : Array.isArray(value) ? value.join(',') : String(value),
  }));
}

/** The configuration with secrets masked: the only form of it that may be logged. */
export function redactConfig(config: Config): Config {
  const mask = (v: string | null): string | null => (v === null ? null : '***');
  return {
    ...config,
    kafka: { ...config.kafka, saslPassword: mask(config.kafka.saslPassword) },
    registry: { ...config.registry, password: mask(config.registry.password) },
    clickhouse: { ...config.clickhouse, password: mask(config.clickhouse.password) },
    sql: { ...config.sql, password: mask(config.sql.password) },
  };
}

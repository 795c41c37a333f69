/**
 * `artenic-optimizer`: run the service, simulate traffic, start the local stack, query
 * ClickHouse. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 */
import { Command, Option } from 'commander';
import { loadConfig, describeSettings, type Config } from '../config/options.ts';
import { createClickHouse, queryRows } from '../infra/clickhouse/client.ts';
import { startLocalStack } from '../infra/local/localStack.ts';
import { ArtenicError, ConfigError } from '../topology/errors.ts';
import { createKafka } from '../topology/kafka.ts';
import { createLogger, type Logger } from '../topology/logger.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { startService } from '../topology/service.ts';
import { ensureTopics } from '../topology/admin.ts';
import { Publisher, runSimulation } from '../simulate/publisher.ts';
import { demoAccuracy, demoStudy, runTrials } from '../simulate/hpoTrials.ts';
import { formatTable } from './table.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { replayEvents, type ReplayEvent } from '../topology/replay.ts';
import type { StatusData } from '../dashboard/statusData.ts';
import { analyze, analyzeAll } from '../processors/storage/analyze.ts';
import { compareForWorkload, latestCatalog, latestSpotRisk, spendSummary, spotTable, type Period } from '../processors/cost/queries.ts';
import { suggest } from '../processors/advisor/processor.ts';
import { latestModel, trainingDocs } from '../processors/advisor/queries.ts';
import { trainAndEvaluate } from '../processors/advisor/ltr/training.ts';
import { toModelRecord } from '../processors/advisor/trainer.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import { trainerOptions } from '../topology/topology.ts';
import type { AdvisorModel, WorkloadProfile } from '../schemas/generated/records.ts';
import avro from 'avsc';
import { loadCommonTypes } from '../schemas/catalog.ts';

const WORKLOAD_TYPE = avro.Type.forSchema(loadCommonTypes().get('artenic.WorkloadProfile') as avro.Schema);

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function configFrom(opts: { config?: string }): Config {
  return loadConfig({ file: opts.config ?? null });
}

/** Starts the local Kafka and registry when none is configured; returns the completed config. */
async function withLocalStack(config: Config, logger: Logger): Promise<{ config: Config; stop: () => Promise<void> }> {
  if (config.kafka.brokers.length > 0 && config.registry.url) return { config, stop: async () => undefined };
  if (config.kafka.brokers.length > 0 || config.registry.url) {
    throw new ConfigError('configure both kafka.brokers and registry.url, or neither (to start the local stack)');
  }
  logger.info('no broker or registry configured: starting local Kafka and Apicurio Registry');
  const stack = await startLocalStack();
  return {
    config: { ...config, kafka: { ...config.kafka, brokers: stack.brokers }, registry: { ...config.registry, url: stack.registryUrl } },
    stop: stack.stop,
  };
}

async function withClickHouse(fn: (client: ReturnType<typeof createClickHouse>, database: string) => Promise<void>): Promise<void> {
  const config = configFrom(program.opts());
  const client = createClickHouse(config.clickhouse);
  try {
    await fn(client, config.clickhouse.database);
  } finally {
    await client.close();
  }
}

function printRows(rows: Array<Record<string, unknown>>, json?: boolean): void {
  console.log(json ? JSON.stringify(rows, null, 2) : formatTable(rows));
}

/** Runs `fn` once on SIGINT/SIGTERM, then exits 0; the returned function does the same with another exit code. */
function onShutdown(fn: () => Promise<void>): (exitCode: number) => void {
  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    fn().then(
      () => process.exit(exitCode),
      (err) => {
        console.error(err);
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(0));
  return stop;
}

const program = new Command()
  .name('artenic-optimizer')
  .description('Event-driven optimizer for ML training platforms: Kafka in, decisions out, history in ClickHouse.')
  .option('-c, --config <file>', 'JSON config file (else $ARTENIC_CONFIG); environment variables override it')
  .showHelpAfterError()
  .addHelpText('after', '\nEvery setting also has an environment variable; `artenic-optimizer settings` lists them.');

program
  .command('run')
  .description('run the service: stream topology + ClickHouse sink (starts local Kafka/registry when none is configured)')
  .option('--simulate', 'also publish generated platform traffic')
  .addOption(new Option('--jobs-per-second <n>', 'simulated dispatches per second').default(20).argParser(Number))
  .addOption(new Option('--summary-every <s>', 'seconds between status summaries').default(5).argParser(Number))
  .action(async (opts: { simulate?: boolean; jobsPerSecond: number; summaryEvery: number }) => {
    const base = configFrom(program.opts());
    const logger = createLogger(base.log.level);
    const { config, stop: stopStack } = await withLocalStack(base, logger);
    // A consumer kafkajs will not restart leaves nothing to do here: exit non-zero, so that a
    // supervisor (systemd, Kubernetes, compose) starts a fresh instance, which restores its state.
    let shutdown: (exitCode: number) => void = () => process.exit(EXIT_RUNTIME);
    const service = await startService(config, logger, { onFatal: () => shutdown(EXIT_RUNTIME) });
    const abort = new AbortController();
    let simulation: Promise<void> = Promise.resolve();
    let publisher: Publisher | undefined;
    let hpoDemo: Promise<void> = Promise.resolve();
    if (opts.simulate) {
      // One simulated clock for the traffic and the HPO platform, so neither runs ahead of the other.
      const clock = { now: Date.now() - 14 * 86_400_000 };
      publisher = await Publisher.connect(createKafka(config, logger, '-simulator'), service.serde, config.topics);
      simulation = runSimulation(
        publisher,
        { seed: 42, runId: `sim${Date.now().toString(36)}`, jobsPerSecond: opts.jobsPerSecond, accessesPerSecond: 5, timeScale: 3_600, backfillMs: 14 * 86_400_000, badRate: 0.002, durationMs: 0, signal: abort.signal, clock },
        logger.child({ component: 'simulator' }),
      ).catch((err) => logger.error({ err }, 'simulator failed'));
      // A platform tuning a model through the HPO processor: one study, its trials run as jobs.
      const studyId = `demo-${Date.now().toString(36)}`;
      hpoDemo = runTrials(
        createKafka(config, logger, '-hpo-demo'),
        service.serde,
        config,
        { study: demoStudy(studyId, clock.now), objective: demoAccuracy, startAt: clock.now, trialMs: 600_000, timeoutMs: 86_400_000, signal: abort.signal, clock: () => clock.now },
        logger.child({ component: 'hpo-demo' }),
      ).then(
        () => undefined,
        (err: unknown) => logger.error({ err }, 'HPO demo failed'),
      );
    }
    const db = config.clickhouse.database;
    console.log(
      [
        '',
        'artenic-optimizer is running.',
        `  Kafka brokers     ${config.kafka.brokers.join(',')}`,
        `  Schema registry   ${config.registry.url}`,
        `  ClickHouse        ${config.clickhouse.url ?? `embedded, data in ${config.clickhouse.dataDir}`} (database ${db})`,
        `  Status page       ${service.httpUrl}  (also /metrics, /healthz, /readyz)`,
        `  Decisions         topics ${config.topics['relevance-labels']}, ${config.topics['tiering-decisions']}, ${config.topics['spot-risk']}, ${config.topics['cost-anomalies']}, ${config.topics['instance-suggestions']}, ${config.topics['advisor-models']}, ${config.topics['hpo-suggestions']}; dead letters in ${config.topics.dlq}`,
        '  Stop with Ctrl-C (drains and commits what is in flight).',
        '',
      ].join('\n'),
    );
    const timer = setInterval(() => {
      const s = service.streams.counters;
      void queryRows<{ labels: string; mean: number | null }>(service.clickhouse, `SELECT count() AS labels, avg(label) AS mean FROM ${db}.relevance_labels FINAL`)
        .then(([row]) => {
          console.log(
            `[${new Date().toISOString()}] consumed ${JSON.stringify(s.consumed)} | labels ${s.produced['relevance-labels'] ?? 0} ` +
              `(in ClickHouse ${row?.labels ?? 0}, mean ${row?.mean?.toFixed(2) ?? '-'}) | tiering decisions ${s.produced['tiering-decisions'] ?? 0} | DLQ ${JSON.stringify(s.deadLetters)} | ` +
              `suggestions ${s.produced['instance-suggestions'] ?? 0} | ranker models ${s.produced['advisor-models'] ?? 0} | HPO suggestions ${s.produced['hpo-suggestions'] ?? 0} | ` +
              `state ${service.streams.stateEntries} entries | sink buffered ${service.sink.bufferedRows}`,
          );
        })
        .catch((err) => logger.warn({ err: (err as Error).message }, 'summary query failed'));
    }, opts.summaryEvery * 1000);
    shutdown = onShutdown(async () => {
      clearInterval(timer);
      abort.abort();
      await simulation;
      await hpoDemo;
      await publisher?.close();
      await service.stop();
      await stopStack();
    });
  });

program
  .command('simulate')
  .description('publish generated platform traffic to the configured Kafka')
  .addOption(new Option('--jobs-per-second <n>', 'dispatches per second').default(20).argParser(Number))
  .addOption(new Option('--duration <s>', 'seconds to run, 0 for until Ctrl-C').default(0).argParser(Number))
  .addOption(new Option('--seed <n>', 'random seed').default(42).argParser(Number))
  .addOption(new Option('--bad-rate <p>', 'fraction of broken records').default(0).argParser(Number))
  .action(async (opts: { jobsPerSecond: number; duration: number; seed: number; badRate: number }) => {
    const config = configFrom(program.opts());
    const logger = createLogger(config.log.level);
    if (!config.registry.url || config.kafka.brokers.length === 0) throw new ConfigError('simulate needs kafka.brokers and registry.url');
    const kafka = createKafka(config, logger, '-simulator');
    const serde = new TopicSerde(createRegistry(config.registry as { url: string; username: string | null; password: string | null }), config.topics);
    await serde.registerAll();
    await ensureTopics(kafka, config, []);
    const publisher = await Publisher.connect(kafka, serde, config.topics);
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    await runSimulation(
      publisher,
      { seed: opts.seed, runId: `sim${Date.now().toString(36)}`, jobsPerSecond: opts.jobsPerSecond, accessesPerSecond: 5, timeScale: 3_600, backfillMs: 14 * 86_400_000, badRate: opts.badRate, durationMs: opts.duration * 1000, signal: abort.signal },
      logger,
    );
    await publisher.close();
  });

program
  .command('infra')
  .description('start the local Kafka and schema registry and print how to reach them (Ctrl-C stops them)')
  .action(async () => {
    const stack = await startLocalStack();
    console.log(`export ARTENIC_KAFKA_BROKERS=${stack.brokers.join(',')}\nexport ARTENIC_REGISTRY_URL=${stack.registryUrl}`);
    onShutdown(stack.stop);
  });

program
  .command('sql')
  .description('run a query on the configured ClickHouse; {name:Type} placeholders take --param name=value')
  .argument('<query>', 'the SQL')
  .option('-p, --param <name=value...>', 'bound parameters')
  .option('--json', 'print JSON rows instead of a table')
  .action(async (query: string, opts: { param?: string[]; json?: boolean }) => {
    const config = configFrom(program.opts());
    const client = createClickHouse(config.clickhouse);
    const params = Object.fromEntries((opts.param ?? []).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
    try {
      const rows = await queryRows<Record<string, unknown>>(client, query, params);
      console.log(opts.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
    } finally {
      await client.close();
    }
  });

const storage = program.command('storage').description('storage optimizer: tiering and format advice from the access history in ClickHouse');
storage
  .command('analyze')
  .description('advice for one dataset, or for all of them, as the stream computes it')
  .argument('[dataset]', 'dataset id; all datasets when left out')
  .option('--at <time>', 'evaluate at this ISO time (default: the latest access seen)')
  .option('--json', 'print JSON')
  .action(async (dataset: string | undefined, opts: { at?: string; json?: boolean }) => {
    const config = configFrom(program.opts());
    const at = opts.at === undefined ? undefined : Date.parse(opts.at);
    if (at !== undefined && Number.isNaN(at)) throw new ConfigError(`--at: not a time: ${opts.at}`);
    const client = createClickHouse(config.clickhouse);
    try {
      const db = config.clickhouse.database;
      const decisions = dataset
        ? [await analyze(client, db, dataset, config.storage, at)].filter((d) => d !== null)
        : (await analyzeAll(client, db, config.storage, at)).decisions;
      if (dataset && decisions.length === 0) {
        console.error(`no accesses of dataset ${dataset} in ClickHouse`);
        process.exitCode = EXIT_RUNTIME;
        return;
      }
      const rows = decisions.map((d) => ({
        dataset: d.dataset_id,
        tier: d.tier,
        size_mb: Math.round(d.size_bytes / 1e6),
        format: d.format,
        advice: d.format_advice ?? '',
        estimated_mb: d.estimated_size_bytes === null ? '' : Math.round(d.estimated_size_bytes / 1e6),
        saving_usd_month: d.monthly_saving_usd.toFixed(2),
        reason: d.reason,
      }));
      console.log(opts.json ? JSON.stringify(decisions, null, 2) : formatTable(rows));
      if (!opts.json && !dataset) console.log(`\ntotal monthly saving: $${decisions.reduce((s, d) => s + d.monthly_saving_usd, 0).toFixed(2)}`);
    } finally {
      await client.close();
    }
  });

const cost = program.command('cost').description('cost intelligence from ClickHouse');
cost
  .command('summary')
  .description('spend per period and provider, instance type or team')
  .addOption(new Option('--period <period>', 'day or month').choices(['day', 'month']).default('month'))
  .addOption(new Option('--by <column>', 'grouping').choices(['provider', 'instance_type', 'team']).default('provider'))
  .option('--json', 'print JSON')
  .action(async (opts: { period: Period; by: 'provider' | 'instance_type' | 'team'; json?: boolean }) => {
    await withClickHouse(async (client, db) => printRows(await spendSummary(client, db, opts.period, opts.by), opts.json));
  });
interface WorkloadFlags {
  workload?: string;
  framework: string;
  modelFamily: string;
  params: number;
  datasetGb: number;
  gpuMemoryGb: number;
  gpus: number;
  hours: number;
}

/** The workload flags `cost compare` and `recommend` share. */
function workloadOptions(command: Command): Command {
  return command
    .option('--workload <json>', 'a WorkloadProfile as JSON (schemas/common/WorkloadProfile.avsc)')
    .option('--framework <name>', 'model framework', 'PYTORCH')
    .option('--model-family <name>', 'model family', 'transformer')
    .addOption(new Option('--params <n>', 'parameter count').default(100000000).argParser(Number))
    .addOption(new Option('--dataset-gb <n>', 'dataset size in GB').default(10).argParser(Number))
    .addOption(new Option('--gpu-memory-gb <n>', 'GPU memory the job needs').default(16).argParser(Number))
    .addOption(new Option('--gpus <n>', 'GPUs').default(1).argParser(Number))
    .addOption(new Option('--hours <n>', 'expected hours on one A100').default(4).argParser(Number));
}

function workloadFrom(opts: WorkloadFlags): WorkloadProfile {
  let workload: WorkloadProfile;
  try {
    workload = opts.workload
      ? (JSON.parse(opts.workload) as WorkloadProfile)
      : { framework: opts.framework.toUpperCase() as WorkloadProfile['framework'], model_family: opts.modelFamily, param_count: opts.params, dataset_size_gb: opts.datasetGb, gpu_memory_required_gb: opts.gpuMemoryGb, num_gpus: opts.gpus, expected_duration_h: opts.hours, distributed: opts.gpus > 1 };
  } catch (err) {
    throw new ConfigError(`--workload is not JSON: ${(err as Error).message}`);
  }
  if (!WORKLOAD_TYPE.isValid(workload)) throw new ConfigError('the workload does not match schemas/common/WorkloadProfile.avsc');
  return workload;
}

workloadOptions(cost.command('compare').description('compare providers for a workload: price, estimated time and cost, availability, Pareto frontier'))
  .option('--pareto', 'only the Pareto frontier')
  .option('--json', 'print JSON')
  .action(async (opts: WorkloadFlags & { pareto?: boolean; json?: boolean }) => {
    const workload = workloadFrom(opts);
    await withClickHouse(async (client, db) => {
      const { offers, providers } = await compareForWorkload(client, db, workload);
      const shown = opts.pareto ? offers.filter((o) => o.pareto) : offers;
      if (opts.json) return console.log(JSON.stringify({ offers: shown, providers }, null, 2));
      console.log(formatTable(shown.map((o) => ({ provider: o.provider, region: o.region, instance: o.instanceType, usd_per_hour: o.onDemandPerHour, spot_per_hour: o.spotPerHour ?? '', hours: o.estimatedHours.toFixed(2), cost_usd: o.estimatedCostUsd.toFixed(2), from: o.durationSource, available: o.available, pareto: o.pareto ? '*' : '' }))));
      console.log('');
      console.log(formatTable(providers.map((p) => ({ provider: p.provider, offers: p.offers, regions: p.regions, available: `${Math.round(p.availableShare * 100)}%`, cheapest_usd: p.cheapestCostUsd.toFixed(2) }))));
    });
  });

workloadOptions(program.command('recommend').description('rank instances for a workload, as the stream answers a recommendation request'))
  .addOption(new Option('--top <k>', 'how many').default(5).argParser(Number))
  .addOption(new Option('--budget <usd>', 'most the run may cost').argParser(Number))
  .option('--regions <list>', 'comma-separated region allow-list')
  .option('--json', 'print JSON')
  .action(async (opts: WorkloadFlags & { top: number; budget?: number; regions?: string; json?: boolean }) => {
    const config = configFrom(program.opts());
    const workload = workloadFrom(opts);
    await withClickHouse(async (client, db) => {
      const { promoted } = await latestModel(client, db);
      const { mode, modelVersion, ranked } = suggest(
        { workload, budgetUsd: opts.budget ?? null, regionAllowList: opts.regions ? opts.regions.split(',').map((r) => r.trim()) : [], topK: opts.top },
        await latestCatalog(client, db),
        await latestSpotRisk(client, db),
        config.advisor,
        promoted?.serving ?? null,
      );
      if (ranked.length === 0) console.error('no feasible instance: check the GPU memory, budget and regions, and that the catalog has reached ClickHouse');
      if (opts.json) return console.log(JSON.stringify({ mode, model_version: modelVersion, ranked }, null, 2));
      console.log(`mode ${mode}${modelVersion ? `, model ${modelVersion}` : ''}`);
      const f = (v: number | undefined) => (v === undefined ? '' : v.toFixed(2));
      console.log(
        formatTable(
          ranked.map((r) => ({
            rank: r.rank,
            provider: r.instance.provider,
            region: r.instance.region,
            instance: r.instance.instance_type,
            usd_per_hour: r.instance.hourly_price_usd,
            est_cost_usd: r.estimated_cost_usd.toFixed(2),
            score: r.score.toFixed(3),
            cost: f(r.factors.cost),
            gpu: f(r.factors.gpu),
            memory: f(r.factors.memory),
            reliability: f(r.factors.reliability),
            ...(mode === 'HEURISTIC' ? {} : { ltr: f(r.factors.ltr) }),
          })),
        ),
      );
      if (ranked.length === 0) process.exitCode = EXIT_RUNTIME;
    });
  });

program
  .command('retrain')
  .description('train the learned ranker now from the labels in ClickHouse, evaluate it on held-out queries against the model in service, and optionally publish it')
  .option('--out <file>', 'write the model as ONNX to this file')
  .option('--publish', 'publish the model to the advisor-models topic when it is promoted (running services switch to it)')
  .option('--json', 'print JSON')
  .action(async (opts: { out?: string; publish?: boolean; json?: boolean }) => {
    const config = configFrom(program.opts());
    let record: AdvisorModel | undefined;
    await withClickHouse(async (client, db) => {
      const { docs, labels } = await trainingDocs(client, db, config.advisor.maxTrainingDocs);
      if (labels < config.advisor.minTrainingLabels) {
        console.error(`only ${labels} relevance labels in ClickHouse; training needs advisor.minTrainingLabels = ${config.advisor.minTrainingLabels}`);
        process.exitCode = EXIT_RUNTIME;
        return;
      }
      const [catalog, risks, { promoted, highestSequence }] = await Promise.all([latestCatalog(client, db), latestSpotRisk(client, db), latestModel(client, db)]);
      const sequence = highestSequence + 1;
      const started = performance.now();
      const run = trainAndEvaluate(docs, new Map(catalog.map((o) => [offerKey(o), o])), risks, promoted?.serving ?? null, { version: `ltr-${sequence}`, trainedAt: Date.now(), labelsSeen: labels }, trainerOptions(config.advisor));
      record = toModelRecord(run, sequence, Date.now(), labels, performance.now() - started);
      if (opts.out) writeFileSync(opts.out, run.onnx);
      const q = (m: { ndcgAt5: number; ndcgAt10: number; mrr: number } | null) => (m ? { ndcg_at_5: m.ndcgAt5.toFixed(4), ndcg_at_10: m.ndcgAt10.toFixed(4), mrr: m.mrr.toFixed(4) } : { ndcg_at_5: '', ndcg_at_10: '', mrr: '' });
      if (opts.json) {
        const { onnx: _bytes, ...rest } = record;
        console.log(JSON.stringify({ ...rest, onnx_file: opts.out ?? null }, null, 2));
      } else {
        console.log(`${run.version}: ${run.promoted ? 'better or equal: would be promoted' : 'not promoted'} (${run.reason})`);
        console.log(`${labels} labels, ${run.trainingDocs} training documents in ${run.trainingQueries} queries, ${run.quality?.queries ?? 0} held-out queries, ${record.training_ms.toFixed(0)} ms`);
        console.log(
          formatTable([
            { ranker: run.version, ...q(run.quality) },
            { ranker: run.baselineVersion ?? 'heuristic (in service)', ...q(run.baseline) },
            ...(run.baselineVersion ? [{ ranker: 'heuristic', ...q(run.heuristic) }] : []),
          ]),
        );
        if (opts.out) console.log(`ONNX written to ${opts.out}`);
      }
    });
    if (!opts.publish || !record) return;
    if (!record.promoted) {
      console.error('not published: the model is worse than the one in service');
      process.exitCode = EXIT_RUNTIME;
      return;
    }
    const logger = createLogger(config.log.level);
    if (config.kafka.brokers.length === 0 || !config.registry.url) throw new ConfigError('--publish needs kafka.brokers and registry.url');
    const kafka = createKafka(config, logger, '-retrain');
    const serde = new TopicSerde(createRegistry(config.registry as { url: string; username: string | null; password: string | null }), config.topics);
    await serde.registerAll();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic: config.topics['advisor-models'], acks: -1, messages: [{ key: record.model_version, value: await serde.encode('advisor-models', record) }] });
      console.log(`published ${record.model_version} to ${config.topics['advisor-models']}`);
    } finally {
      await producer.disconnect();
    }
  });

program
  .command('spot')
  .description('spot risk per offer: preemption rate with its credible interval, band, savings, verdict')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    await withClickHouse(async (client, db) => printRows(await spotTable(client, db), opts.json));
  });

program
  .command('status')
  .description('the running service: readiness, optimizer mode and samples, consumed/produced/DLQ counts, sink')
  .option('--url <url>', 'the service (default: http://<http.host>:<http.port>)')
  .option('--json', 'print JSON')
  .action(async (opts: { url?: string; json?: boolean }) => {
    const config = configFrom(program.opts());
    const url = opts.url ?? `http://${config.http.host}:${config.http.port}`;
    let status: StatusData;
    try {
      const response = await fetch(`${url}/api/status`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      status = (await response.json()) as StatusData;
    } catch (err) {
      console.error(`no service answers at ${url}: ${(err as Error).message}`);
      process.exitCode = EXIT_RUNTIME;
      return;
    }
    if (opts.json) return console.log(JSON.stringify(status, null, 2));
    const o = status.optimizer;
    console.log(
      formatTable([
        { item: 'ready', value: status.streams.ready },
        { item: 'mode', value: o.mode },
        { item: 'training samples', value: o.samples },
        { item: 'mean label', value: o.meanLabel?.toFixed(2) ?? '' },
        { item: 'model version', value: o.modelVersion ?? 'none' },
        { item: 'NDCG@5 (held out)', value: o.ndcgAt5?.toFixed(4) ?? 'no learned model yet' },
        { item: 'NDCG@10 (held out)', value: o.ndcgAt10?.toFixed(4) ?? '' },
        { item: 'MRR (held out)', value: o.mrr?.toFixed(4) ?? '' },
        { item: 'heuristic NDCG@5', value: o.heuristicNdcgAt5?.toFixed(4) ?? '' },
        { item: 'training runs', value: o.trainingRuns },
        { item: 'consumer lag', value: Object.entries(status.streams.consumerLag).map(([g, n]) => `${g}: ${n}`).join(', ') || 'not polled yet' },
        { item: 'consumed', value: JSON.stringify(status.streams.consumed) },
        { item: 'produced', value: JSON.stringify(status.streams.produced) },
        { item: 'dead letters', value: JSON.stringify(status.streams.deadLetters) },
        { item: 'sink buffered rows', value: status.sink.bufferedRows },
      ]),
    );
  });

program
  .command('replay')
  .description('run the processors over a file of events without Kafka (backtesting), through the same code path')
  .argument('<file>', 'JSON lines: {"topic": "<input role>", "key": "...", "value": {...}}')
  .option('--only <role>', 'print only the outputs of this topic role')
  .action(async (file: string, opts: { only?: string }) => {
    const config = configFrom(program.opts());
    const events: ReplayEvent[] = [];
    for (const [i, text] of readFileSync(file, 'utf8').split('\n').entries()) {
      if (!text.trim()) continue;
      try {
        events.push(JSON.parse(text) as ReplayEvent);
      } catch {
        events.push({ topic: '(unparsable line)', key: null, value: null });
        console.error(`line ${i + 1}: not JSON`);
      }
    }
    for (const o of replayEvents(events, config)) if (!opts.only || o.topic === opts.only) console.log(JSON.stringify(o));
  });

program
  .command('settings')
  .description('list every setting, its environment variable and its default')
  .option('--json', 'as JSON')
  .action((opts: { json?: boolean }) => {
    const rows = describeSettings();
    console.log(opts.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`);
    process.exit(EXIT_USAGE);
  }
  console.error(err instanceof ArtenicError ? `${err.code}: ${err.message}` : err);
  process.exit(EXIT_RUNTIME);
});

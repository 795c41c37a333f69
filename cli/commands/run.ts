/** `run`: the service, with the local stack when none is configured, and simulated traffic on request. */
import { Option, type Command } from 'commander';
import { queryRows } from '../../infra/clickhouse/client.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService } from '../../app/service.ts';
import { Publisher, runSimulation } from '../../simulate/publisher.ts';
import { demoAccuracy, demoStudy, runTrials } from '../../simulate/hpoTrials.ts';
import { configOf, EXIT_RUNTIME, numberOption, onShutdown, withLocalStack } from '../common.ts';

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('run the service: stream topology + ClickHouse sink (starts local Kafka/registry when none is configured)')
    .option('--simulate', 'also publish generated platform traffic')
    .addOption(new Option('--jobs-per-second <n>', 'simulated dispatches per second').default(20).argParser(numberOption({ above: 0 })))
    .addOption(new Option('--summary-every <s>', 'seconds between status summaries').default(5).argParser(numberOption({ above: 0 })))
    .action(async (opts: { simulate?: boolean; jobsPerSecond: number; summaryEvery: number }) => {
      const base = configOf(program);
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
          `  SQL endpoint      ${service.sqlUrl ? `${service.sqlUrl}  (ClickHouse HTTP interface, read-only; the CLI's sql uses it)` : config.clickhouse.url ? 'off: query the ClickHouse server' : 'off (sql.enabled)'}`,
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
}

/** `simulate`: publish generated platform traffic to the configured Kafka. */
import { Option, type Command } from 'commander';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { Publisher, runSimulation } from '../../simulate/publisher.ts';
import { configOf, integerOption, numberOption } from '../common.ts';

export function simulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('publish generated platform traffic to the configured Kafka')
    .addOption(new Option('--jobs-per-second <n>', 'dispatches per second').default(20).argParser(numberOption({ above: 0 })))
    .addOption(new Option('--duration <s>', 'seconds to run, 0 for until Ctrl-C').default(0).argParser(numberOption({ min: 0 })))
    .addOption(new Option('--seed <n>', 'random seed').default(42).argParser(integerOption()))
    .addOption(new Option('--bad-rate <p>', 'fraction of broken records').default(0).argParser(numberOption({ min: 0, max: 1 })))
    .action(async (opts: { jobsPerSecond: number; duration: number; seed: number; badRate: number }) => {
      const config = configOf(program);
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
}

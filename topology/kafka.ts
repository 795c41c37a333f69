/** kafkajs clients built from the configuration: brokers, TLS, SASL, logging through pino. */
import './kafkajsHotPath.ts'; // [hotpath] first: it replaces kafkajs modules before kafkajs loads them
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Config } from '../config/options.ts';
import type { Logger } from '../common/logger.ts';
import { stopIdleRequestQueueTimers } from './kafkajsIdleTimer.ts';
import { cacheCoordinators } from './kafkajsCoordinatorCache.ts';
import { reportKafkajsHotPath } from './kafkajsHotPath.ts';

export function createKafka(config: Config, logger: Logger, clientIdSuffix = ''): Kafka {
  stopIdleRequestQueueTimers(); // kafkajs 2.2.4 spins a 1 ms timer per idle connection otherwise
  cacheCoordinators(); // kafkajs 2.2.4 sends FindCoordinator before every transactional request otherwise
  reportKafkajsHotPath(logger); // [hotpath] warns once if kafkajs was loaded before the replacements
  const k = config.kafka;
  if (k.brokers.length === 0) throw new Error('kafka.brokers is empty: configure ARTENIC_KAFKA_BROKERS or use `make run`');
  const sasl: SASLOptions | undefined =
    k.saslMechanism === 'none' ? undefined : ({ mechanism: k.saslMechanism, username: k.saslUsername ?? '', password: k.saslPassword ?? '' } as SASLOptions);
  const ssl = k.ssl ? (k.sslCaFile ? { ca: [readFileSync(k.sslCaFile, 'utf8')] } : true) : false;
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const options: KafkaConfig = {
    clientId: `${k.clientId}${clientIdSuffix}`,
    brokers: k.brokers,
    ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: 5_000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    // kafkajs' own entries carry no secrets; route them to pino with their level.
    logCreator: () => ({ level, log }) => {
      const { message, ...extra } = log;
      // CONCURRENT_TRANSACTIONS right after a commit is routine and retried: not an error.
      const routine = /concurrent operation on the same transaction/.test(`${message} ${String(extra.error ?? '')}`);
      if (routine) kafkaLogger.debug(extra, message);
      else if (level <= logLevel.ERROR) kafkaLogger.error(extra, message);
      else if (level === logLevel.WARN) kafkaLogger.warn(extra, message);
      else kafkaLogger.debug(extra, message);
    },
  };
  return new Kafka(options);
}

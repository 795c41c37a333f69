/**
 * Secrets given to the service (registry basic auth, ClickHouse password, SQL endpoint
 * password, SASL password)
 * never appear in its logs, at debug level, through start, traffic, bad input and stop.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { startServiceProcess } from '../helpers/serviceProcess.ts';
import { randomName, readLabels, testConfig, testKafka } from '../helpers/testConfig.ts';

describe('secrets in logs', () => {
  it('logs none of the configured secrets', async () => {
    const config = testConfig();
    const secrets = { registry: `reg-${randomName('s')}`, clickhouse: `ch-${randomName('s')}`, sql: `sql-${randomName('s')}` };
    const logFile = join(tmpdir(), `${randomName('secrets')}.log`);
    const logger = createLogger('warn');
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    const service = await startServiceProcess(config, logFile, {
      ARTENIC_LOG_LEVEL: 'debug',
      // Apicurio here runs without authentication and ignores these; the embedded engine ignores the password.
      ARTENIC_REGISTRY_USERNAME: 'artenic',
      ARTENIC_REGISTRY_PASSWORD: secrets.registry,
      ARTENIC_CLICKHOUSE_PASSWORD: secrets.clickhouse,
      ARTENIC_SQL_USERNAME: 'analyst',
      ARTENIC_SQL_PASSWORD: secrets.sql,
    });
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const g = new EventGenerator({ seed: 3, runId: 'secrets' });
    const jobs = Array.from({ length: 20 }, (_, i) => g.job(Date.UTC(2026, 0, 1) + i * 60_000));
    await publisher.addJobs(jobs);
    publisher.addRaw('job-dispatch', 'bad', Buffer.from('garbage'));
    await publisher.close();
    await readLabels(testKafka(config), config, serde, jobs.filter((j) => j.outcome.status !== 'CANCELLED').length, 60_000);
    expect(await service.kill('SIGTERM')).toBe(0);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('"msg":"starting"');
    // The configuration is logged, redacted.
    expect(log).toMatch(/"password":"\*\*\*"/);
    expect(log).not.toContain(secrets.registry);
    expect(log).not.toContain(secrets.clickhouse);
    expect(log).not.toContain(secrets.sql);
  });
});

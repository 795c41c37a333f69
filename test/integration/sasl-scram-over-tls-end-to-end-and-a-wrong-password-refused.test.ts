/**
 * A secured Kafka: the client listener of a broker of this test's own is SASL_SSL with
 * SCRAM-SHA-512 and a certificate from a throw-away CA. The service (a child process) is
 * configured with `kafka.ssl`, `kafka.sslCaFile` and SCRAM credentials; its admin client,
 * transactional producer, consumer groups and ClickHouse sink all go through that listener,
 * and labels flow end to end. A wrong password stops the start with a readable error and
 * a non-zero exit, and no password ever shows in what the service prints.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { buildProcessors } from '../../app/topology.ts';
import { expectClickHouseExactlyOnce, expectExactlyOnce, waitForLabelsInClickHouse } from '../helpers/faults.ts';
import { securedKafka, type SecuredKafka } from '../helpers/securedKafka.ts';
import { runServiceToExit, startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { expectedLabels, randomName, readLabels, testConfig } from '../helpers/testConfig.ts';

const JOBS = 500;

const firstLine = (output: string, re: RegExp) => (output.split('\n').find((l) => re.test(l)) ?? '(none)').slice(0, 300);
const lastLine = (output: string) => (output.trim().split('\n').pop() ?? '').slice(0, 300);

describe('SASL/SCRAM over TLS', () => {
  const broker = securedKafka();
  let secured: SecuredKafka;
  let service: ServiceProcess | undefined;
  const logFile = join(tmpdir(), `${randomName('sasl-ssl-service')}.log`);

  beforeAll(async () => {
    secured = await broker.start();
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  const securedConfig = () =>
    testConfig({
      kafka: { brokers: secured.brokers, ssl: true, sslCaFile: secured.caFile, saslMechanism: 'scram-sha-512', saslUsername: secured.username, saslPassword: secured.password },
    });

  it('labels flow end to end through the SASL_SSL listener', async () => {
    const config = securedConfig();
    const logger = createLogger('warn');
    const kafka = createKafka(config, logger, '-test');
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopologyTopics(kafka, config, buildProcessors(config));

    const g = new EventGenerator({ seed: 41, runId: 'secure' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: JOBS }, (_, i) => g.job(start + i * 10_000));
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    await publisher.addJobs(jobs);
    await publisher.close();

    service = await startServiceProcess(config, logFile);
    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, serde, expected.size, 90_000);
    expectExactlyOnce(labels, expected);
    expect(await waitForLabelsInClickHouse(service.httpUrl, expected.size, 60_000)).toBe(expected.size);
    expect(await service.kill('SIGTERM')).toBe(0);
    await expectClickHouseExactlyOnce(config, expected, { job_dispatch: JOBS, job_outcome: JOBS });
    expect(readFileSync(logFile, 'utf8')).not.toContain(secured.password);
  });

  it('a wrong password fails the start with a readable error and never shows a password', async () => {
    const config = securedConfig();
    const wrong = `wrong-${randomName('pw')}`;
    const started = Date.now();
    const { code, output } = await runServiceToExit(config, { ARTENIC_KAFKA_SASL_PASSWORD: wrong }, 120_000);
    console.log(`wrong password: exit ${code} after ${Date.now() - started} ms: ${firstLine(output, /authentication failed/i)} ... last line: ${lastLine(output)}`);
    expect(code).toBe(1);
    expect(output).toMatch(/SASL SCRAM SHA512 authentication failed|Authentication failed/i);
    expect(output).not.toContain(wrong);
    expect(output).not.toContain(secured.password);
  });

  it('a broker certificate from a CA the service was not given is refused', async () => {
    const config = securedConfig();
    const { code, output } = await runServiceToExit({ ...config, kafka: { ...config.kafka, sslCaFile: null } }, {}, 120_000);
    console.log(`unknown CA: exit ${code}: ${firstLine(output, /certificate/i)} ... last line: ${lastLine(output)}`);
    expect(code).toBe(1);
    expect(output).toMatch(/self[- ]signed certificate|unable to (get|verify)/i);
    expect(output).not.toContain(secured.password);
  });
});

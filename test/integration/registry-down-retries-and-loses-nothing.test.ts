/**
 * The schema registry goes away while the service works: records written with a schema id
 * the service has not seen yet (a producer that evolved its schema and cached the new id)
 * cannot be decoded until it is back. An unreachable registry is not the record's fault:
 * nothing may go to the DLQ as UNKNOWN_SCHEMA, the batch is retried, and once the registry
 * is back (same address, schemas kept in its H2 file) every label is there exactly once, on
 * the topic and in ClickHouse.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicSchema } from '../../schemas/catalog.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { buildProcessors } from '../../app/topology.ts';
import { endOffsets, expectClickHouseExactlyOnce, expectExactlyOnce, restartableRegistry, waitForLabelsInClickHouse } from '../helpers/faults.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { expectedLabels, randomName, readLabels, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const BEFORE = 1_000;
const DURING = 500;
const DOWN_MS = 10_000;

describe('registry down', () => {
  const registry = restartableRegistry();
  let service: ServiceProcess | undefined;
  const logFile = join(tmpdir(), `${randomName('registry-down-service')}.log`);

  beforeAll(() => registry.start());
  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  it('records of a schema id not yet fetched wait for the registry instead of going to the DLQ', async () => {
    const config = testConfig({ registry: { url: registry.address } });
    const logger = createLogger('warn');
    const serde = new TopicSerde(createRegistry({ url: registry.address, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopologyTopics(createKafka(config, logger), config, buildProcessors(config));

    // A producer on a newer, BACKWARD-compatible job-outcome schema: registered now, its id
    // cached by the producer, unknown to the service until it asks the registry.
    const v1 = topicSchema('job-outcome');
    const v2 = { ...v1, fields: [...(v1.fields as object[]), { name: 'fault_test_note', type: ['null', 'string'], default: null }] };
    const { id: v2Id } = await serde.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject: `${config.topics['job-outcome']}-value` });
    expect(v2Id).not.toBe(serde.schemaId('job-outcome'));
    const v2Type = avro.Type.forSchema(v2 as unknown as avro.Schema);
    const wire = (value: object) => {
      const header = Buffer.alloc(5);
      header.writeInt32BE(v2Id, 1);
      return Buffer.concat([header, v2Type.toBuffer({ ...value, fault_test_note: 'written with v2' })]);
    };

    const g = new EventGenerator({ seed: 71, runId: 'registry' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: BEFORE + DURING }, (_, i) => g.job(start + i * 10_000));
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    await publisher.addJobs(jobs.slice(0, BEFORE));
    await publisher.flush();

    service = await startServiceProcess(config, logFile);
    const kafka = testKafka(config);
    await waitUntil('labels flowing', async () => (await endOffsets(kafka, config.topics['relevance-labels'])) > 200, 60_000);

    await registry.stop('SIGKILL');
    for (const j of jobs.slice(BEFORE)) {
      await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
      publisher.addRaw('job-outcome', j.outcome.job_id, wire(j.outcome));
    }
    await publisher.flush();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    expect(service.child.exitCode).toBeNull();
    expect(await endOffsets(kafka, config.topics.dlq)).toBe(0);
    await registry.start();

    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, serde, expected.size, 120_000);
    expectExactlyOnce(labels, expected);
    expect(await endOffsets(kafka, config.topics.dlq)).toBe(0);

    expect(await waitForLabelsInClickHouse(service.httpUrl, expected.size, 60_000)).toBe(expected.size);
    await publisher.close();
    expect(await service.kill('SIGTERM')).toBe(0);
    await expectClickHouseExactlyOnce(config, expected, { job_dispatch: jobs.length, job_outcome: jobs.length, dead_letters: 0 });
  });
});

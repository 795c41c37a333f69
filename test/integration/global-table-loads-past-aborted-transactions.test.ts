/**
 * A writer that crashed, or aborted, leaves the end of a topic as aborted records and an
 * abort marker, which a read_committed consumer never hands to eachBatch. A global table
 * must still see that it reached the end, and load in moments, not at its timeout.
 */
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { offerKey } from '../../processors/cost/labelsByOffer.ts';
import { CATALOG } from '../../simulate/catalog.ts';
import { toInstanceOffer } from '../../simulate/generator.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { GlobalTable } from '../../topology/globalTable.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { testConfig } from '../helpers/testConfig.ts';

describe('global table', () => {
  const config = testConfig();
  const logger = createLogger('warn');

  it('loads to the end of a topic whose tail is an aborted transaction', async () => {
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    const kafka = createKafka(config, logger);
    await ensureTopics(kafka, config, []);
    const topic = config.topics['instance-catalog'];
    const producer = kafka.producer({ transactionalId: `${config.kafka.applicationId}-writer`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const offers = CATALOG.slice(0, 8).map((o) => toInstanceOffer(o, Date.UTC(2026, 10, 1)));
    const messages = async (list: typeof offers) => Promise.all(list.map(async (o) => ({ key: offerKey(o), value: await serde.encode('instance-catalog', o) })));
    // Committed: the first four offers, on every partition they hash to.
    const committed = await producer.transaction();
    await committed.send({ topic, messages: await messages(offers.slice(0, 4)) });
    await committed.commit();
    // Aborted, last on the topic: the other four.
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: await messages(offers.slice(4)) });
    await aborted.abort();
    await producer.disconnect();

    const table = new GlobalTable(kafka, serde, 'instance-catalog', topic, config.kafka.applicationId, logger);
    const started = Date.now();
    try {
      await table.start(20_000);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect([...table.rows.keys()].sort()).toEqual(offers.slice(0, 4).map(offerKey).sort());
    } finally {
      await table.stop();
    }
  });
});

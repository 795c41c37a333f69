/**
 * The real registry enforces BACKWARD evolution: a new optional field is accepted, a new
 * required field is refused; and a record written with the older schema still decodes
 * into the service's reader schema.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { topicSchema } from '../../schemas/catalog.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { randomName, testConfig } from '../helpers/testConfig.ts';

describe('schema registry compatibility', () => {
  const config = testConfig();
  const registry = createRegistry({ url: config.registry.url as string, username: null, password: null });

  it('accepts a new optional field and refuses a new required one', async () => {
    const subject = `${randomName('compat')}-value`;
    const v1 = { type: 'record', name: 'Probe', namespace: 'artenic.test', fields: [{ name: 'event_id', type: 'string' }] };
    const v2 = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] };
    const v3 = { ...v2, fields: [...v2.fields, { name: 'required_now', type: 'long' }] };
    const { id: id1 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    const { id: id2 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
    expect(id2).not.toBe(id1);
    await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v3) }, { subject })).rejects.toThrow(/compatib|409|conflict/i);
  });

  it('reads a job outcome written with an older schema through the current one', async () => {
    const serde = new TopicSerde(registry, config.topics);
    await serde.registerAll();
    const current = topicSchema('job-outcome') as { fields: Array<{ name: string }> };
    // An older producer's schema: the same record without the optional `error` field.
    const older = { ...current, fields: current.fields.filter((f) => f.name !== 'error') };
    const subject = `${randomName('older')}-value`;
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(older) }, { subject });
    const body = avro.Type.forSchema(older as avro.Schema).toBuffer({
      event_id: 'e1', event_time: Date.UTC(2026, 0, 1), job_id: 'j1', status: 'SUCCEEDED', duration_s: 10, cost_usd: 1, metric: null, preemption_count: 0,
    });
    const header = Buffer.alloc(5);
    header.writeInt32BE(id, 1);
    const decoded = await serde.decode('job-outcome', Buffer.concat([header, body]), { minEventTimeMs: 0, maxEventTimeMs: Infinity });
    expect(decoded).toMatchObject({ job_id: 'j1', status: 'SUCCEEDED', error: null });

    // And the service's own records round-trip in the Confluent wire format.
    const encoded = await serde.encode('job-outcome', { ...decoded, error: 'boom' });
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(serde.schemaId('job-outcome'));
    expect(await serde.decode('job-outcome', encoded, { minEventTimeMs: 0, maxEventTimeMs: Infinity })).toMatchObject({ error: 'boom' });
  });
});

/**
 * [partitioner] Internal records (OfferRun on labels-by-offer) on the synchronous decode path:
 * encoded with the schema registerInternal registered (cached as its own writer: no registry
 * round trip, the registry here knows no id), and decoded by decodeRecords, not validated again.
 */
import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { loadConfig } from '../../../config/options.ts';
import { TOPIC_ROLES, type TopicRole } from '../../../schemas/catalog.ts';
import type { RelevanceLabel } from '../../../schemas/generated/records.ts';
import { offerRun } from '../../../processors/cost/labelsByOffer.ts';
import { buildLabel } from '../../../processors/feedback/join.ts';
import { EventGenerator } from '../../../simulate/generator.ts';
import { decodeRecords, type Decoded } from '../../../topology/operators/decodeRecords.ts';
import { TopicSerde } from '../../../topology/serde.ts';
import { memoryRegistry } from '../../helpers/memoryRegistry.ts';

/** The shared stand-in, except that it serves no schema by id: the decode must use the writer schema cached at registration, never a registry round trip. */
function registryWithoutLookups() {
  return Object.assign(memoryRegistry(), {
    getSchema: async () => {
      throw Object.assign(new Error('not found'), { status: 404 });
    },
  });
}

describe('internal records on the sync decode path', () => {
  it('round-trips OfferRun projections through encodeInternalSync and decodeRecords with the cached writer schema', async () => {
    const config = loadConfig({ env: {} });
    const serde = new TopicSerde(registryWithoutLookups(), Object.fromEntries(TOPIC_ROLES.map((r) => [r, r])) as Record<TopicRole, string>);
    await serde.registerAll();
    await serde.registerInternal('offer-runs', 'app-labels-by-offer-repartition');
    const g = new EventGenerator({ seed: 5, runId: 'internal' });
    const runs = Array.from({ length: 50 }, (_, i) => g.job(Date.UTC(2026, 0, 1) + i * 60_000))
      .map((j) => buildLabel(j.dispatch, j.outcome, config.feedback))
      .filter((l): l is RelevanceLabel => l !== null)
      .map(offerRun);
    const sources = runs.map((run, i) => {
      const value = serde.encodeInternalSync('offer-runs', run);
      expect(serde.hasWriterSchema(value)).toBe(true);
      const message = { key: Buffer.from('k'), value, offset: String(i), timestamp: '0', headers: {}, attributes: 0 } as unknown as KafkaMessage;
      return { role: 'relevance-labels' as const, source: 'labels-by-offer', topic: 'app-labels-by-offer-repartition', partition: 0, message, internal: 'offer-runs' as const };
    });
    const out: Promise<Decoded[]> = lastValueFrom(from(sources).pipe(decodeRecords({ serde, bounds: { minEventTimeMs: 0, maxEventTimeMs: Number.MAX_SAFE_INTEGER }, maxRecordBytes: config.validation.maxRecordBytes }), toArray()));
    const decoded = await out;
    expect(decoded.map((d) => (d.ok ? d.record.value : d))).toEqual(runs);
  });
});

/**
 * The training advisor on the real broker: the catalog and spot risk are read as global
 * tables, every recommendation request gets a ranked suggestion, and every dispatch gets
 * the optimizer's own pick beside what was chosen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerKey } from '../../processors/cost/labelsByOffer.ts';
import { suggest } from '../../processors/advisor/processor.ts';
import type { InstanceSuggestion, RecommendationRequest } from '../../schemas/generated/records.ts';
import { CATALOG } from '../../simulate/catalog.ts';
import { EventGenerator, toInstanceOffer } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { readTopic, testConfig, testKafka } from '../helpers/testConfig.ts';

describe('advisor', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  const start = Date.UTC(2026, 8, 1);
  const catalog = CATALOG.map((o) => toInstanceOffer(o, start));
  let service: RunningServiceHandle;

  beforeAll(async () => {
    // The catalog exists before the service starts: the global table loads it first.
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    const publisher = await Publisher.connect(createKafka(config, logger, '-catalog'), serde, config.topics);
    for (const o of catalog) await publisher.add('instance-catalog', offerKey(o), o);
    await publisher.close();
    service = await startService(config, logger);
  });
  afterAll(() => service?.stop());

  it('ranks requests and shadows dispatches with the heuristic ranker', async () => {
    const g = new EventGenerator({ seed: 51, runId: 'advisor' });
    const base = g.job(start).dispatch.workload;
    const requests: RecommendationRequest[] = [
      { event_id: 'r1', event_time: start, request_id: 'req-1', workload: { ...base, gpu_memory_required_gb: 30 }, goal: 'BALANCED', budget_usd: null, top_k: 5, region_allow_list: [] },
      { event_id: 'r2', event_time: start, request_id: 'req-2', workload: { ...base, gpu_memory_required_gb: 10 }, goal: 'COST', budget_usd: 20, top_k: 3, region_allow_list: ['us-east-1', 'us-central1'] },
    ];
    const dispatches = Array.from({ length: 5 }, (_, i) => g.job(start + i * 1000));
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    for (const r of requests) await publisher.add('recommendation-requests', r.request_id, r);
    for (const d of dispatches) await publisher.add('job-dispatch', d.dispatch.job_id, d.dispatch);
    await publisher.close();

    const suggestions = await readTopic<InstanceSuggestion>(
      testKafka(config),
      config.topics['instance-suggestions'],
      async (v) => (await service.serde.decode('instance-suggestions', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as InstanceSuggestion,
      (items) => items.length >= requests.length + dispatches.length,
      60_000,
    );
    expect(suggestions).toHaveLength(requests.length + dispatches.length);
    for (const r of requests) {
      const s = suggestions.find((x) => x.request_id === r.request_id) as InstanceSuggestion;
      expect(s).toMatchObject({ source: 'REQUEST', mode: 'HEURISTIC', model_version: null });
      const expected = suggest({ workload: r.workload, budgetUsd: r.budget_usd, regionAllowList: r.region_allow_list, topK: r.top_k, goal: r.goal }, catalog, new Map(), config.advisor).ranked;
      expect(s.ranked.map((x) => [x.rank, offerKey(x.instance)])).toEqual(expected.map((x) => [x.rank, offerKey(x.instance)]));
      expect(s.ranked.length).toBeGreaterThan(0);
      expect(s.ranked.length).toBeLessThanOrEqual(r.top_k);
    }
    expect(suggestions.find((x) => x.request_id === 'req-2')?.ranked.every((x) => ['us-east-1', 'us-central1'].includes(x.instance.region) && x.estimated_cost_usd <= 20)).toBe(true);
    for (const d of dispatches) {
      const s = suggestions.find((x) => x.job_id === d.dispatch.job_id) as InstanceSuggestion;
      expect(s).toMatchObject({ source: 'DISPATCH', chosen_cost_usd: d.dispatch.estimated_cost_usd, team: d.dispatch.team });
      expect(s.ranked).toHaveLength(config.advisor.dispatchTopK);
    }
  });
});

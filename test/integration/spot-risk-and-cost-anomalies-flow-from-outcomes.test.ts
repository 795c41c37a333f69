/**
 * Cost intelligence on the real broker: labels are re-keyed by offer through a repartition
 * topic, meet the instance catalog there, and become spot-risk records and cost anomalies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerKey } from '../../processors/cost/labelsByOffer.ts';
import { assessSpot } from '../../processors/cost/spotRisk.ts';
import type { CostAnomaly, SpotRisk } from '../../schemas/generated/records.ts';
import { CATALOG } from '../../simulate/catalog.ts';
import { EventGenerator, type GeneratedJob } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { expectedLabels, readLabels, readTopic, testConfig, testKafka } from '../helpers/testConfig.ts';

describe('spot risk and cost anomalies flow from outcomes', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  let service: RunningServiceHandle;
  let publisher: Publisher;
  const start = Date.UTC(2026, 5, 1);
  const g = new EventGenerator({ seed: 17, runId: 'cost' });

  beforeAll(async () => {
    service = await startService(config, logger);
    publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
  });
  afterAll(async () => {
    await publisher?.close();
    await service?.stop();
  });

  it('scores every spot offer and flags exactly the injected expensive runs', async () => {
    await publisher.addCatalog(start);
    const traffic = Array.from({ length: 400 }, (_, i) => g.job(start + i * 60_000));
    // One workload class on one offer: 30 ordinary runs, then 3 at three times the cost.
    const template = g.job(start);
    const offer = template.dispatch.instance;
    const classRun = (i: number, factor: number): GeneratedJob => {
      const id = `class-run-${i}`;
      const cost = 100 * (1 + 0.03 * Math.sin(i)) * factor;
      return {
        dispatch: { ...template.dispatch, event_id: `d-${id}`, job_id: id, event_time: start + i * 3_600_000 },
        outcome: { ...template.outcome, event_id: `o-${id}`, job_id: id, event_time: start + i * 3_600_000 + 1000, status: 'SUCCEEDED', cost_usd: cost, preemption_count: 0 },
      };
    };
    const ordinary = Array.from({ length: 30 }, (_, i) => classRun(i, 1));
    const expensive = [30, 31, 32].map((i) => classRun(i, 3));
    await publisher.addJobs([...traffic, ...ordinary]);
    await publisher.flush();
    const firstLabels = expectedLabels([...traffic, ...ordinary], config);
    await readLabels(kafka, config, service.serde, firstLabels.size, 90_000);
    await publisher.addJobs(expensive);
    await publisher.flush();

    const anomalies = await readTopic<CostAnomaly>(
      kafka,
      config.topics['cost-anomalies'],
      async (v) => (await service.serde.decode('cost-anomalies', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as CostAnomaly,
      (items) => items.filter((a) => a.job_id.startsWith('class-run')).length >= 3,
      60_000,
    );
    expect(anomalies.filter((a) => a.job_id.startsWith('class-run')).map((a) => a.job_id).sort()).toEqual(['class-run-30', 'class-run-31', 'class-run-32']);
    expect(anomalies.find((a) => a.job_id === 'class-run-30')).toMatchObject({ provider: offer.provider, region: offer.region, instance_type: offer.instance_type, threshold: 3.5 });

    // Spot risk: per offer, the last record agrees with a direct assessment of all its spot runs.
    const spotRuns = new Map<string, { runs: number; preemptedRuns: number; preemptions: number; runHours: number }>();
    for (const label of expectedLabels([...traffic, ...ordinary, ...expensive], config).values()) {
      if (!label.instance.spot) continue;
      const k = offerKey(label.instance);
      const s = spotRuns.get(k) ?? { runs: 0, preemptedRuns: 0, preemptions: 0, runHours: 0 };
      const preempted = label.preemption_count > 0 || label.status === 'PREEMPTED';
      s.runs++;
      s.preemptedRuns += preempted ? 1 : 0;
      s.preemptions += Math.max(label.preemption_count, label.status === 'PREEMPTED' ? 1 : 0);
      s.runHours += label.duration_s / 3600;
      spotRuns.set(k, s);
    }
    const risks = await readTopic<SpotRisk>(
      kafka,
      config.topics['spot-risk'],
      async (v) => (await service.serde.decode('spot-risk', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as SpotRisk,
      (items) => new Set(items.map((r) => `${r.provider}/${r.region}/${r.instance_type}`)).size >= spotRuns.size,
      60_000,
    );
    const lastByOffer = new Map(risks.map((r) => [`${r.provider}/${r.region}/${r.instance_type}`, r]));
    expect([...lastByOffer.keys()].sort()).toEqual([...spotRuns.keys()].sort());
    for (const [k, stats] of spotRuns) {
      const o = CATALOG.find((c) => `${c.provider}/${c.region}/${c.instanceType}` === k);
      const direct = assessSpot(stats, o ? { onDemand: o.onDemand, spot: o.spot } : null, config.spot);
      const last = lastByOffer.get(k) as SpotRisk;
      expect(last.risk_band, k).toBe(direct.riskBand);
      expect(last.recommend_spot, k).toBe(direct.recommendSpot);
      expect(Math.abs(last.preemption_rate - direct.preemptionRate)).toBeLessThan(config.spot.emitMinRateDelta);
      expect(last.rate_lower).toBeLessThanOrEqual(last.preemption_rate);
      expect(last.rate_upper).toBeGreaterThanOrEqual(last.preemption_rate);
    }
  });
});

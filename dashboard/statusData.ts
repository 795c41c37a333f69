/**
 * What the status page shows, read from ClickHouse (every view reads FINAL) and from the
 * running components. Only bound parameters reach the SQL.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { ClickHouseSink } from '../topology/sink/clickhouseSink.ts';
import type { StreamsApp } from '../topology/streamsApp.ts';
import { latestPromoted } from '../processors/advisor/servingModel.ts';

export interface StatusData {
  generatedAt: string;
  optimizer: {
    /** What the advisor serves with now: HEURISTIC, LTR or HYBRID. */
    mode: string;
    samples: number;
    meanLabel: number | null;
    modelVersion: string | null;
    ndcgAt5: number | null;
    ndcgAt10: number | null;
    mrr: number | null;
    heuristicNdcgAt5: number | null;
    trainingRuns: number;
  };
  streams: { ready: boolean; consumerLag: Record<string, number>; consumerLagAt: string | null; consumed: Record<string, number>; produced: Record<string, number>; deadLetters: Record<string, number>; transactions: number; stateEntries: number };
  sink: { bufferedRows: number; rowsInserted: Record<string, number>; paused: boolean };
  recentDecisions: Array<{ time: string; kind: string; subject: string; summary: string }>;
  spendByProvider: Array<{ provider: string; cost_usd: number; runs: number }>;
  costTrend: Array<{ day: string; provider: string; cost_usd: number }>;
  spotRisk: Array<{ offer: string; runs: number; rate: number; lower: number; upper: number; band: string; savings_pct: number | null; recommend: boolean }>;
  storage: Array<{ dataset_id: string; tier: string; format_advice: string | null; monthly_saving_usd: number }>;
  savings: { actualUsd: number; suggestedUsd: number; potentialUsd: number; storageMonthlyUsd: number };
}

const n = (v: unknown) => Number(v ?? 0);

export interface ServiceView {
  streams?: StreamsApp;
  sink?: ClickHouseSink;
  consumerLag?: Record<string, number>;
  /** When that lag was polled (epoch ms). */
  consumerLagAt?: number | null;
  /** The configured advisor mode; what serves is HEURISTIC until a model is promoted. */
  advisorMode?: 'heuristic' | 'ltr' | 'hybrid';
}

/** The mode the advisor serves with now: from the running service's own model table when there is one. */
function servingMode(view: ServiceView): string | null {
  const models = view.streams?.globalRows('advisor-models');
  if (!models || !view.advisorMode) return null;
  return view.advisorMode === 'heuristic' || !latestPromoted(models) ? 'HEURISTIC' : view.advisorMode.toUpperCase();
}

export async function statusData(client: ClickHouseClient, database: string, view: ServiceView = {}): Promise<StatusData> {
  const { streams, sink, consumerLag = {} } = view;
  const db = database;
  const [labels] = await queryRows<{ samples: string; mean: number | null }>(client, `SELECT count() AS samples, avg(label) AS mean FROM ${db}.relevance_labels FINAL`);
  const [model] = await queryRows<{ version: string; ndcg5: number | null; ndcg10: number | null; mrr: number | null; heuristic5: number | null }>(
    client,
    `SELECT model_version AS version, ndcg_at_5 AS ndcg5, ndcg_at_10 AS ndcg10, mrr, heuristic_ndcg_at_5 AS heuristic5
     FROM ${db}.advisor_models FINAL WHERE promoted ORDER BY sequence DESC LIMIT 1`,
  );
  // The running service's own model table is ahead of ClickHouse (the sink follows the topic).
  const inService = view.streams?.globalRows('advisor-models');
  const live = inService ? latestPromoted(inService) : null;
  const current = live
    ? { version: live.model_version, ndcg5: live.ndcg_at_5, ndcg10: live.ndcg_at_10, mrr: live.mrr, heuristic5: live.heuristic_ndcg_at_5 }
    : (model ?? null);
  const [runs] = await queryRows<{ n: string }>(client, `SELECT count() AS n FROM ${db}.advisor_models FINAL`);
  // Without the service at hand: the mode of the suggestion written last.
  const [serving] = await queryRows<{ mode: string }>(client, `SELECT argMax(mode, (_ingested_at, _offset)) AS mode FROM ${db}.instance_suggestions HAVING count() > 0`);
  const recent = await queryRows<{ time: string; kind: string; subject: string; summary: string }>(
    client,
    `SELECT toString(event_time) AS time, kind, subject, summary FROM (
       SELECT event_time, 'relevance label' AS kind, job_id AS subject, concat('label ', toString(label), ' on ', instance_instance_type) AS summary FROM ${db}.relevance_labels FINAL
       UNION ALL SELECT event_time, 'tiering', dataset_id, concat(tier, if(format_advice IS NULL, '', concat(', ', format_advice))) FROM ${db}.tiering_decisions FINAL
       UNION ALL SELECT event_time, 'spot risk', concat(provider, '/', region, '/', instance_type), concat(risk_band, if(recommend_spot, ', spot ok', ', on-demand')) FROM ${db}.spot_risk FINAL
       UNION ALL SELECT event_time, 'ranker model', model_version, concat(if(promoted, 'promoted', 'kept the current one'), ': ', reason) FROM ${db}.advisor_models FINAL
       UNION ALL SELECT event_time, 'cost anomaly', job_id, concat('$', toString(round(cost_usd, 2)), ' vs median $', toString(round(median_cost_usd, 2))) FROM ${db}.cost_anomalies FINAL
     ) ORDER BY event_time DESC LIMIT {limit:UInt32}`,
    { limit: 20 },
  );
  const spend = await queryRows<{ provider: string; cost_usd: number; runs: string }>(
    client,
    `SELECT provider, round(sum(cost_usd), 2) AS cost_usd, sum(runs) AS runs FROM ${db}.spend_daily GROUP BY provider ORDER BY cost_usd DESC`,
  );
  const trend = await queryRows<{ day: string; provider: string; cost_usd: number }>(
    client,
    `SELECT toString(d) AS day, provider, round(sum(cost), 2) AS cost_usd
     FROM (SELECT day AS d, provider, cost_usd AS cost FROM ${db}.spend_daily WHERE day >= (SELECT max(day) FROM ${db}.spend_daily) - {days:UInt32})
     GROUP BY d, provider ORDER BY d, provider`,
    { days: 30 },
  );
  const spot = await queryRows<{ offer: string; runs: string; rate: number; lower: number; upper: number; band: string; savings_pct: number | null; recommend: boolean }>(
    client,
    `SELECT concat(provider, '/', region, '/', instance_type) AS offer, argMax(runs, event_time) AS runs, argMax(preemption_rate, event_time) AS rate,
            argMax(rate_lower, event_time) AS lower, argMax(rate_upper, event_time) AS upper, argMax(risk_band, event_time) AS band,
            argMax(avg_savings_pct, event_time) AS savings_pct, argMax(recommend_spot, event_time) AS recommend
     FROM ${db}.spot_risk FINAL GROUP BY offer ORDER BY offer`,
  );
  const storage = await queryRows<{ dataset_id: string; tier: string; format_advice: string | null; monthly_saving_usd: number }>(
    client,
    `SELECT dataset_id, tier, format_advice, monthly_saving_usd FROM ${db}.storage_recommendations ORDER BY monthly_saving_usd DESC, dataset_id LIMIT {limit:UInt32}`,
    { limit: 50 },
  );
  const [savings] = await queryRows<{ actual: number; suggested: number; potential: number }>(
    client,
    `SELECT sum(actual_cost_usd) AS actual, sum(ifNull(suggested_cost_usd, actual_cost_usd)) AS suggested, sum(ifNull(potential_saving_usd, 0)) AS potential FROM ${db}.savings_report`,
  );
  const [storageSaving] = await queryRows<{ total: number }>(client, `SELECT sum(monthly_saving_usd) AS total FROM ${db}.storage_recommendations`);
  return {
    generatedAt: new Date().toISOString(),
    optimizer: {
      mode: servingMode(view) ?? serving?.mode ?? 'HEURISTIC',
      samples: n(labels?.samples),
      meanLabel: labels?.mean ?? null,
      modelVersion: current?.version ?? null,
      ndcgAt5: current?.ndcg5 ?? null,
      ndcgAt10: current?.ndcg10 ?? null,
      mrr: current?.mrr ?? null,
      heuristicNdcgAt5: current?.heuristic5 ?? null,
      trainingRuns: Math.max(n(runs?.n), inService?.size ?? 0),
    },
    streams: {
      ready: streams?.ready ?? false,
      consumerLag,
      consumerLagAt: view.consumerLagAt ? new Date(view.consumerLagAt).toISOString() : null,
      consumed: streams?.counters.consumed ?? {},
      produced: streams?.counters.produced ?? {},
      deadLetters: streams?.counters.deadLetters ?? {},
      transactions: streams?.counters.transactions ?? 0,
      stateEntries: streams?.stateEntries ?? 0,
    },
    sink: { bufferedRows: sink?.bufferedRows ?? 0, rowsInserted: sink?.counters.rowsInserted ?? {}, paused: sink?.counters.paused ?? false },
    recentDecisions: recent,
    spendByProvider: spend.map((s) => ({ provider: s.provider, cost_usd: n(s.cost_usd), runs: n(s.runs) })),
    costTrend: trend.map((t) => ({ ...t, cost_usd: n(t.cost_usd) })),
    spotRisk: spot.map((s) => ({ ...s, runs: n(s.runs), recommend: Boolean(s.recommend) })),
    storage,
    savings: { actualUsd: n(savings?.actual), suggestedUsd: n(savings?.suggested), potentialUsd: n(savings?.potential), storageMonthlyUsd: n(storageSaving?.total) },
  };
}

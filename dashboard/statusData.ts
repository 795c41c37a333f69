/**
 * What the status page shows, read from ClickHouse (every view reads FINAL) and from the
 * running components. Only bound parameters reach the SQL.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { ClickHouseSink } from '../topology/sink/clickhouseSink.ts';
import type { StreamsApp } from '../topology/streamsApp.ts';
import { servingState } from '../processors/advisor/servingModel.ts';
import { latestModel } from '../reporting/advisor.ts';
import { compareForWorkload, savingsSummary, workloadClasses, type SavingsSummary } from '../reporting/cost.ts';
import { HISTORY_SORTS, isHistorySort, recommendationHistory, type HistoryRow, type HistorySort, type SortDirection } from '../reporting/recommendations.ts';
import { hpoStudies, hpoTrials, type HpoStudyRow, type HpoTrialRow } from '../reporting/hpo.ts';
import { deadLettersByCode, type DeadLetterCode } from '../reporting/deadLetters.ts';
import type { ScalingPriors } from '../processors/advisor/placement.ts';
import type { OfferComparison } from '../processors/cost/providerComparison.ts';
import { DEFAULTS } from '../config/options.ts';
import type { WorkloadProfile } from '../schemas/generated/records.ts';

/** What the page shows where it offers a choice: the history's order, the workload class compared, the study shown. */
export interface PageSelection {
  sort: HistorySort;
  dir: SortDirection;
  /** A workload class (query id); default: the one with the most runs. */
  workload: string | null;
  /** A study id; default: the latest defined. */
  study: string | null;
}

export const DEFAULT_SELECTION: PageSelection = { sort: 'time', dir: 'desc', workload: null, study: null };

/** The selection from a page URL's parameters; anything unknown falls back to the default. */
export function selectionOf(params: URLSearchParams): PageSelection {
  const sort = params.get('sort') ?? '';
  const dir = params.get('dir');
  return {
    sort: isHistorySort(sort) ? sort : DEFAULT_SELECTION.sort,
    dir: dir === 'asc' || dir === 'desc' ? dir : DEFAULT_SELECTION.dir,
    workload: params.get('workload') || null,
    study: params.get('study') || null,
  };
}

export { HISTORY_SORTS };
export type { HistoryRow, HistorySort, SortDirection, HpoStudyRow, HpoTrialRow, DeadLetterCode };

export interface ProviderBar {
  provider: string;
  /** The provider's cheapest feasible offer for the workload: `region/instance_type`. */
  offer: string;
  usdPerHour: number;
  hours: number;
  costUsd: number;
  /** Where the hours come from: observed runs of the class on that offer, or an estimate. */
  source: OfferComparison['durationSource'];
  feasibleOffers: number;
}

export interface StatusData {
  generatedAt: string;
  optimizer: {
    /** What the advisor serves with now: HEURISTIC, LTR or HYBRID. */
    mode: string;
    /** Why the heuristic serves although a learned mode is configured (no model yet, none beats the heuristic, an old feature layout); null otherwise. */
    modeReason: string | null;
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
  storage: Array<{ dataset_id: string; tier: string; format_advice: string | null; size_bytes: number; monthly_saving_usd: number }>;
  /** The savings figure (reporting/cost.ts savingsSummary, as `cost summary` shows it) and the storage saving per month. */
  savings: SavingsSummary & { storageMonthlyUsd: number };
  /** The datasets the storage saving is over (each one's latest advice). */
  storageDatasets: number;
  selection: PageSelection;
  history: HistoryRow[];
  providerComparison: {
    classes: Array<{ queryId: string; runs: number; description: string }>;
    /** The class compared (null when there is none yet) and its workload. */
    selected: string | null;
    workload: WorkloadProfile | null;
    bars: ProviderBar[];
  };
  hpo: { studies: HpoStudyRow[]; selected: string | null; trials: HpoTrialRow[] };
  deadLettersByCode: DeadLetterCode[];
}

/** A workload in a few words, for the class picker. */
export function describeWorkload(w: WorkloadProfile): string {
  const params = w.param_count >= 1e9 ? `${+(w.param_count / 1e9).toFixed(1)}B` : `${+(w.param_count / 1e6).toFixed(0)}M`;
  const hours = w.expected_duration_h === null ? '' : ` · ${+w.expected_duration_h.toFixed(1)} h`;
  const memory = w.gpu_memory_sharded ? `${+w.gpu_memory_required_gb.toFixed(0)} GB sharded` : `${+w.gpu_memory_required_gb.toFixed(0)} GB each`;
  return `${w.framework.toLowerCase()} ${w.model_family} ${params} · ${w.num_gpus} GPU, ${memory}${hours}`;
}

const n = (v: unknown) => Number(v ?? 0);

export interface ServiceView {
  streams?: StreamsApp;
  sink?: ClickHouseSink;
  consumerLag?: Record<string, number>;
  /** When that lag was polled (epoch ms). */
  consumerLagAt?: number | null;
  /** The configured scaling priors, for the provider comparison (learned scaling from ClickHouse goes on top). */
  scaling?: ScalingPriors;
  /** The configured advisor mode; what serves is HEURISTIC until a model is promoted. */
  advisorMode?: 'heuristic' | 'ltr' | 'hybrid';
}

/** The mode the advisor serves with now, and why it is the heuristic when a learned mode is configured. */
function servingMode(configured: ServiceView['advisorMode'], model: { version: string } | null, heuristicReason: string | null): { mode: string; reason: string | null } {
  if (configured === 'heuristic') return { mode: 'HEURISTIC', reason: null };
  if (model) return { mode: configured === 'ltr' ? 'LTR' : 'HYBRID', reason: null };
  return { mode: 'HEURISTIC', reason: heuristicReason ?? 'no learned model has been trained yet' };
}

export async function statusData(client: ClickHouseClient, database: string, view: ServiceView = {}, selection: PageSelection = DEFAULT_SELECTION): Promise<StatusData> {
  const { streams, sink, consumerLag = {} } = view;
  const db = database;
  const [labels] = await queryRows<{ samples: string; mean: number | null }>(client, `SELECT count() AS samples, avg(label) AS mean FROM ${db}.relevance_labels FINAL`);
  // What serves, decided as the advisor decides it: from the running service's own model table
  // when there is one (it is ahead of ClickHouse, which the sink fills), else from ClickHouse.
  const inService = view.streams?.globalRows('advisor-models');
  const live = inService ? servingState(inService) : null;
  const stored = live ? null : await latestModel(client, db);
  const servingVersion = live ? (live.model?.record.model_version ?? null) : (stored?.promoted?.version ?? null);
  const heuristicReason = live ? live.heuristicReason : (stored?.heuristicReason ?? null);
  const liveRecord = live?.model?.record;
  const [model] = servingVersion && !liveRecord
    ? await queryRows<{ version: string; ndcg5: number | null; ndcg10: number | null; mrr: number | null; heuristic5: number | null }>(
        client,
        `SELECT model_version AS version, ndcg_at_5 AS ndcg5, ndcg_at_10 AS ndcg10, mrr, heuristic_ndcg_at_5 AS heuristic5 FROM ${db}.advisor_models FINAL WHERE model_version = {v:String} LIMIT 1`,
        { v: servingVersion },
      )
    : [];
  const current = liveRecord
    ? { version: liveRecord.model_version, ndcg5: liveRecord.ndcg_at_5, ndcg10: liveRecord.ndcg_at_10, mrr: liveRecord.mrr, heuristic5: liveRecord.heuristic_ndcg_at_5 }
    : (model ?? null);
  const [runs] = await queryRows<{ n: string }>(client, `SELECT count() AS n FROM ${db}.advisor_models FINAL`);
  // Without the service at hand, the configured mode is unknown: the mode of the suggestion written last.
  const [serving] = await queryRows<{ mode: string }>(client, `SELECT argMax(mode, (_ingested_at, _offset)) AS mode FROM ${db}.instance_suggestions HAVING count() > 0`);
  const mode = view.advisorMode ? servingMode(view.advisorMode, current, heuristicReason) : { mode: serving?.mode ?? 'HEURISTIC', reason: serving?.mode === 'HEURISTIC' || !serving ? heuristicReason : null };
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
  const storage = await queryRows<{ dataset_id: string; tier: string; format_advice: string | null; size_bytes: string; monthly_saving_usd: number }>(
    client,
    `SELECT dataset_id, tier, format_advice, size_bytes, monthly_saving_usd FROM ${db}.storage_recommendations ORDER BY monthly_saving_usd DESC, dataset_id LIMIT {limit:UInt32}`,
    { limit: 50 },
  );
  const savings = await savingsSummary(client, db);
  const [storageSaving] = await queryRows<{ total: number; datasets: string }>(client, `SELECT sum(monthly_saving_usd) AS total, count() AS datasets FROM ${db}.storage_recommendations`);
  const history = await recommendationHistory(client, db, { sort: selection.sort, dir: selection.dir, limit: 50 });
  const classes = await workloadClasses(client, db, 12);
  const chosenClass = classes.find((c) => c.queryId === selection.workload) ?? classes[0] ?? null;
  const comparison = chosenClass ? await compareForWorkload(client, db, chosenClass.workload, view.scaling ?? DEFAULTS.advisor.scaling) : null;
  const bars: ProviderBar[] = [];
  for (const o of comparison?.offers ?? []) {
    const bar = bars.find((b) => b.provider === o.provider);
    const candidate = { provider: o.provider, offer: `${o.region}/${o.instanceType}`, usdPerHour: o.onDemandPerHour, hours: o.estimatedHours, costUsd: o.estimatedCostUsd, source: o.durationSource, feasibleOffers: 1 };
    if (!bar) bars.push(candidate);
    else if (o.estimatedCostUsd < bar.costUsd) Object.assign(bar, { ...candidate, feasibleOffers: bar.feasibleOffers + 1 });
    else bar.feasibleOffers++;
  }
  bars.sort((a, b) => a.costUsd - b.costUsd || a.provider.localeCompare(b.provider));
  const studies = await hpoStudies(client, db);
  const study = studies.find((s) => s.study_id === selection.study) ?? studies[0] ?? null;
  const trials = study ? await hpoTrials(client, db, study.study_id, study.objective?.name ?? 'metric') : [];
  const deadLetters = await deadLettersByCode(client, db);
  return {
    generatedAt: new Date().toISOString(),
    optimizer: {
      mode: mode.mode,
      modeReason: mode.reason,
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
    storage: storage.map((s) => ({ ...s, size_bytes: n(s.size_bytes), monthly_saving_usd: n(s.monthly_saving_usd) })),
    savings: { ...savings, storageMonthlyUsd: n(storageSaving?.total) },
    storageDatasets: n(storageSaving?.datasets),
    selection,
    history,
    providerComparison: {
      classes: classes.map((c) => ({ queryId: c.queryId, runs: c.runs, description: describeWorkload(c.workload) })),
      selected: chosenClass?.queryId ?? null,
      workload: chosenClass?.workload ?? null,
      bars,
    },
    hpo: { studies, selected: study?.study_id ?? null, trials },
    deadLettersByCode: deadLetters,
  };
}

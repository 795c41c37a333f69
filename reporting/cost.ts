/** On-demand cost queries for the CLI and the status page, over ClickHouse (bound parameters only). */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { InstanceOffer, SpotRisk, WorkloadProfile, WorkloadScaling } from '../schemas/generated/records.ts';
import { workloadHash } from '../processors/feedback/workloadHash.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import { compareProviders } from '../processors/cost/providerComparison.ts';
import type { ScalingPriors } from '../processors/advisor/placement.ts';

export async function spotTable(client: ClickHouseClient, db: string): Promise<Array<Record<string, unknown>>> {
  return queryRows(
    client,
    `SELECT concat(provider, '/', region, '/', instance_type) AS offer,
            argMax(runs, event_time) AS runs, round(argMax(preemption_rate, event_time) * 100, 1) AS rate_pct,
            round(argMax(rate_lower, event_time) * 100, 1) AS lower_pct, round(argMax(rate_upper, event_time) * 100, 1) AS upper_pct,
            argMax(risk_band, event_time) AS band, round(argMax(avg_savings_pct, event_time), 1) AS savings_pct,
            round(argMax(expected_cost_ratio, event_time), 3) AS cost_ratio, argMax(recommend_spot, event_time) AS spot
     FROM ${db}.spot_risk FINAL GROUP BY offer ORDER BY offer`,
  );
}

export type Period = 'day' | 'month';

export async function spendSummary(client: ClickHouseClient, db: string, period: Period, by: 'provider' | 'instance_type' | 'team'): Promise<Array<Record<string, unknown>>> {
  const view = period === 'day' ? 'spend_daily' : 'spend_monthly';
  const time = period === 'day' ? 'day' : 'month';
  // `by` is one of three column names, checked by the type and by the CLI's choices.
  return queryRows(
    client,
    `SELECT toString(${time}) AS period, ${by}, sum(runs) AS runs, round(sum(cost_usd), 2) AS cost_usd, round(sum(hours), 1) AS hours
     FROM ${db}.${view} GROUP BY period, ${by} ORDER BY period, cost_usd DESC`,
  );
}

export async function latestCatalog(client: ClickHouseClient, db: string): Promise<InstanceOffer[]> {
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT provider, region, instance_type, argMax(gpu_type, event_time) AS gpu_type, argMax(gpu_count, event_time) AS gpu_count,
            argMax(gpu_memory_gb, event_time) AS gpu_memory_gb, argMax(vcpus, event_time) AS vcpus, argMax(memory_gb, event_time) AS memory_gb,
            argMax(on_demand_price_usd, event_time) AS on_demand_price_usd, argMax(spot_price_usd, event_time) AS spot_price_usd,
            argMax(available, event_time) AS available, toUnixTimestamp64Milli(max(event_time)) AS updated_ms
     FROM ${db}.instance_catalog FINAL GROUP BY provider, region, instance_type`,
  );
  return rows.map((r) => ({
    event_id: `catalog:${String(r.provider)}/${String(r.region)}/${String(r.instance_type)}`,
    event_time: Number(r.updated_ms),
    provider: String(r.provider),
    region: String(r.region),
    instance_type: String(r.instance_type),
    gpu_type: r.gpu_type === null ? null : String(r.gpu_type),
    gpu_count: Number(r.gpu_count),
    gpu_memory_gb: Number(r.gpu_memory_gb),
    vcpus: Number(r.vcpus),
    memory_gb: Number(r.memory_gb),
    on_demand_price_usd: Number(r.on_demand_price_usd),
    spot_price_usd: r.spot_price_usd === null ? null : Number(r.spot_price_usd),
    available: Boolean(r.available),
  }));
}

/** Provider comparison for a workload, with durations observed for its workload class and the scaling learned for it. */
export async function compareForWorkload(client: ClickHouseClient, db: string, workload: WorkloadProfile, priors: ScalingPriors) {
  const observed = await queryRows<{ provider: string; region: string; instance_type: string; hours: number[] }>(
    client,
    `SELECT instance_provider AS provider, instance_region AS region, instance_instance_type AS instance_type, groupArray(duration_s / 3600) AS hours
     FROM ${db}.relevance_labels FINAL WHERE query_id = {query:String} AND status = 'SUCCEEDED'
     GROUP BY provider, region, instance_type`,
    { query: workloadHash(workload) },
  );
  const byOffer = new Map(observed.map((o) => [offerKey(o), o.hours.map(Number)]));
  return compareProviders(workload, await latestCatalog(client, db), byOffer, { priors, learned: await latestScaling(client, db) });
}

/** The latest learned scaling per workload class (workload-scaling), keyed by class. */
export async function latestScaling(client: ClickHouseClient, db: string): Promise<Map<string, WorkloadScaling>> {
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT class_key, argMax(framework, event_time) AS framework, argMax(model_family, event_time) AS model_family, max(runs) AS runs,
            argMax(multi_gpu_runs, event_time) AS multi_gpu_runs, argMax(gpu_counts, event_time) AS gpu_counts,
            argMax(parallel_fraction, event_time) AS parallel_fraction, argMax(prior_parallel_fraction, event_time) AS prior_parallel_fraction,
            argMax(observed_parallel_fraction, event_time) AS observed_parallel_fraction, argMax(expectation_ratio, event_time) AS expectation_ratio,
            argMax(efficiency_at_8, event_time) AS efficiency_at_8, toUnixTimestamp64Milli(max(event_time)) AS updated_ms
     FROM ${db}.workload_scaling FINAL GROUP BY class_key`,
  );
  return new Map(
    rows.map((r) => [
      String(r.class_key),
      {
        event_id: `scaling:${String(r.class_key)}`,
        event_time: Number(r.updated_ms),
        class_key: String(r.class_key),
        framework: String(r.framework),
        model_family: String(r.model_family),
        runs: Number(r.runs),
        multi_gpu_runs: Number(r.multi_gpu_runs),
        gpu_counts: (JSON.parse(String(r.gpu_counts)) as number[]).map(Number),
        parallel_fraction: Number(r.parallel_fraction),
        prior_parallel_fraction: Number(r.prior_parallel_fraction),
        observed_parallel_fraction: r.observed_parallel_fraction === null ? null : Number(r.observed_parallel_fraction),
        expectation_ratio: r.expectation_ratio === null ? null : Number(r.expectation_ratio),
        efficiency_at_8: Number(r.efficiency_at_8),
      },
    ]),
  );
}

/**
 * The savings figure the CLI (`cost summary`) and the status page both show, from the
 * savings_report view: over the jobs that succeeded and have an optimizer pick (`covered`),
 * what was spent against what the picks would have cost for the same work. Jobs that
 * succeeded without a pick, and jobs that did not succeed, are counted beside it, never
 * mixed into it.
 */
export interface SavingsSummary {
  /** Jobs with an outcome. */
  finishedJobs: number;
  succeededJobs: number;
  /** Succeeded jobs with an optimizer pick and its estimate: the ones compared. */
  coveredJobs: number;
  /** Covered jobs where the pick was the offer the platform chose. */
  sameChoiceJobs: number;
  /** Spent on the covered jobs. */
  spentUsd: number;
  /** What the optimizer's picks would have cost for the same work, on the covered jobs. */
  optimizerUsd: number;
  /** spentUsd - optimizerUsd: > 0, the picks would have saved this; < 0, they would have cost more. */
  savingUsd: number;
  /** Spent on succeeded jobs outside the comparison (no pick, or a pick without an estimate). */
  uncoveredSpentUsd: number;
  /** Spent on jobs that did not succeed (failed, preempted, cancelled): outside the comparison. */
  unsuccessfulSpentUsd: number;
}

export async function savingsSummary(client: ClickHouseClient, db: string): Promise<SavingsSummary> {
  const [r] = await queryRows<Record<string, unknown>>(
    client,
    // Aliases differ from the view's column names: ClickHouse aliases are visible in the whole query.
    `SELECT count() AS n_finished, countIf(succeeded) AS n_succeeded, countIf(covered) AS n_covered, countIf(covered AND same_choice) AS n_same_choice,
            sumIf(actual_cost_usd, covered) AS spent, sumIf(optimizer_cost_usd, covered) AS optimizer,
            sumIf(actual_cost_usd, succeeded AND NOT covered) AS uncovered, sumIf(actual_cost_usd, NOT succeeded) AS unsuccessful
     FROM ${db}.savings_report`,
  );
  const n = (v: unknown) => Number(v ?? 0);
  const spentUsd = n(r?.spent);
  const optimizerUsd = n(r?.optimizer);
  return {
    finishedJobs: n(r?.n_finished),
    succeededJobs: n(r?.n_succeeded),
    coveredJobs: n(r?.n_covered),
    sameChoiceJobs: n(r?.n_same_choice),
    spentUsd,
    optimizerUsd,
    savingUsd: spentUsd - optimizerUsd,
    uncoveredSpentUsd: n(r?.uncovered),
    unsuccessfulSpentUsd: n(r?.unsuccessful),
  };
}

/** The latest spot risk per offer, keyed like the catalog. */
export async function latestSpotRisk(client: ClickHouseClient, db: string): Promise<Map<string, SpotRisk>> {
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT provider, region, instance_type, argMax(runs, event_time) AS runs, argMax(preemption_rate, event_time) AS preemption_rate,
            argMax(rate_lower, event_time) AS rate_lower, argMax(rate_upper, event_time) AS rate_upper
     FROM ${db}.spot_risk FINAL GROUP BY provider, region, instance_type`,
  );
  return new Map(
    rows.map((r) => [
      offerKey({ provider: String(r.provider), region: String(r.region), instance_type: String(r.instance_type) }),
      { runs: Number(r.runs), preemption_rate: Number(r.preemption_rate), rate_lower: Number(r.rate_lower), rate_upper: Number(r.rate_upper) } as SpotRisk,
    ]),
  );
}

/** A workload class (the ranking query id) with the latest workload seen in it and how many runs it has. */
export interface WorkloadClass {
  queryId: string;
  runs: number;
  workload: WorkloadProfile;
}

/** The workload classes with the most finished runs, each with a representative workload (its latest). */
export async function workloadClasses(client: ClickHouseClient, db: string, limit: number): Promise<WorkloadClass[]> {
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT query_id, count() AS runs,
            argMax(workload_framework, event_time) AS framework, argMax(workload_model_family, event_time) AS model_family,
            argMax(workload_param_count, event_time) AS param_count, argMax(workload_dataset_size_gb, event_time) AS dataset_size_gb,
            argMax(workload_gpu_memory_required_gb, event_time) AS gpu_memory_required_gb, argMax(workload_num_gpus, event_time) AS num_gpus,
            argMax(workload_expected_duration_h, event_time) AS expected_duration_h, argMax(workload_distributed, event_time) AS distributed,
            argMax(workload_gpu_memory_sharded, event_time) AS gpu_memory_sharded, argMax(workload_max_nodes, event_time) AS max_nodes
     FROM ${db}.relevance_labels FINAL GROUP BY query_id ORDER BY runs DESC, query_id LIMIT {limit:UInt32}`,
    { limit },
  );
  return rows.map((r) => ({
    queryId: String(r.query_id),
    runs: Number(r.runs),
    workload: {
      framework: String(r.framework) as WorkloadProfile['framework'],
      model_family: String(r.model_family),
      param_count: Number(r.param_count),
      dataset_size_gb: Number(r.dataset_size_gb),
      gpu_memory_required_gb: Number(r.gpu_memory_required_gb),
      num_gpus: Number(r.num_gpus),
      expected_duration_h: r.expected_duration_h === null ? null : Number(r.expected_duration_h),
      distributed: Boolean(r.distributed),
      gpu_memory_sharded: Boolean(r.gpu_memory_sharded),
      max_nodes: Number(r.max_nodes),
    },
  }));
}

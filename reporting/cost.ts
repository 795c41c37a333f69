/** On-demand cost queries for the CLI and the status page, over ClickHouse (bound parameters only). */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import type { InstanceOffer, SpotRisk, WorkloadProfile } from '../schemas/generated/records.ts';
import { workloadHash } from '../processors/feedback/workloadHash.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import { compareProviders } from '../processors/cost/providerComparison.ts';

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

/** Provider comparison for a workload, with durations observed for its workload class. */
export async function compareForWorkload(client: ClickHouseClient, db: string, workload: WorkloadProfile) {
  const observed = await queryRows<{ provider: string; region: string; instance_type: string; hours: number[] }>(
    client,
    `SELECT instance_provider AS provider, instance_region AS region, instance_instance_type AS instance_type, groupArray(duration_s / 3600) AS hours
     FROM ${db}.relevance_labels FINAL WHERE query_id = {query:String} AND status = 'SUCCEEDED'
     GROUP BY provider, region, instance_type`,
    { query: workloadHash(workload) },
  );
  const byOffer = new Map(observed.map((o) => [offerKey(o), o.hours.map(Number)]));
  return compareProviders(workload, await latestCatalog(client, db), byOffer);
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
            argMax(workload_expected_duration_h, event_time) AS expected_duration_h, argMax(workload_distributed, event_time) AS distributed
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
    },
  }));
}

-- Cost intelligence views. Plain views over FINAL tables rather than materialized views:
-- a materialized view aggregates each insert as it comes, and the sink's at-least-once
-- replays would be counted twice; FINAL reads deduplicate by event_id.

-- Spend per day, provider, region, instance type, team and pricing (spot or on-demand).
CREATE VIEW IF NOT EXISTS {db:Identifier}.spend_daily AS
SELECT toDate(finished_at) AS day, provider, region, instance_type, team, spot,
       count() AS runs, sum(cost_usd) AS cost_usd, sum(duration_s) / 3600 AS hours
FROM {db:Identifier}.job_runs
GROUP BY day, provider, region, instance_type, team, spot;

-- The same per month.
CREATE VIEW IF NOT EXISTS {db:Identifier}.spend_monthly AS
SELECT toStartOfMonth(day) AS month, provider, region, instance_type, team, spot,
       sum(runs) AS runs, sum(cost_usd) AS cost_usd, sum(hours) AS hours
FROM {db:Identifier}.spend_daily
GROUP BY month, provider, region, instance_type, team, spot;

-- Cost efficiency: what a point of metric improvement cost, per month, team and workload.
-- Only runs with a known, positive improvement count in the denominator.
CREATE VIEW IF NOT EXISTS {db:Identifier}.cost_efficiency AS
SELECT toStartOfMonth(event_time) AS month, team, query_id,
       count() AS runs,
       sum(cost_usd) AS cost_usd,
       sumIf(metric_improvement, metric_improvement > 0) * 100 AS improvement_pct_points,
       if(improvement_pct_points > 0, cost_usd / improvement_pct_points, NULL) AS cost_per_improvement_point_usd
FROM {db:Identifier}.relevance_labels FINAL
GROUP BY month, team, query_id;

-- Savings report: actual spend against the cheapest candidate the dispatch was chosen from,
-- for the same estimated hours (until the ranker's suggestions replace it).
CREATE VIEW IF NOT EXISTS {db:Identifier}.savings_report AS
SELECT
  d.job_id AS job_id,
  d.team AS team,
  d.event_time AS dispatched_at,
  d.instance_provider AS provider,
  d.instance_instance_type AS instance_type,
  o.cost_usd AS actual_cost_usd,
  d.estimated_cost_usd AS estimated_cost_usd,
  d.estimated_cost_usd / nullIf(d.instance_hourly_price_usd, 0) AS estimated_hours,
  arrayMin(arrayMap(c -> JSONExtractFloat(c, 'hourly_price_usd'), JSONExtractArrayRaw(d.candidates))) AS cheapest_candidate_hourly_usd,
  if(empty(JSONExtractArrayRaw(d.candidates)), NULL, cheapest_candidate_hourly_usd * estimated_hours) AS suggested_cost_usd,
  if(suggested_cost_usd IS NULL, NULL, greatest(o.cost_usd - suggested_cost_usd, 0)) AS potential_saving_usd
FROM {db:Identifier}.job_dispatch AS d FINAL
INNER JOIN {db:Identifier}.job_outcome AS o FINAL ON o.job_id = d.job_id;

-- Spot runs and preemptions per day and offer.
CREATE VIEW IF NOT EXISTS {db:Identifier}.spot_preemption_history AS
SELECT toDate(finished_at) AS day, provider, region, instance_type,
       count() AS spot_runs,
       countIf(preemption_count > 0 OR status = 'PREEMPTED') AS preempted_runs,
       sum(preemption_count) AS preemptions
FROM {db:Identifier}.job_runs
WHERE spot
GROUP BY day, provider, region, instance_type;

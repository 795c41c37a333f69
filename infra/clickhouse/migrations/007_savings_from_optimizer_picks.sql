-- The savings report now compares each job with what the optimizer would have chosen for it
-- (its top pick in the DISPATCH suggestion, in the mode it served then), for the same
-- estimated hours; jobs without a suggestion fall back to the cheapest candidate they were
-- chosen from. `suggested_from` says which.
CREATE OR REPLACE VIEW {db:Identifier}.savings_report AS
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
  s.top_provider AS optimizer_provider,
  s.top_instance_type AS optimizer_instance_type,
  s.top_hourly_usd AS optimizer_hourly_usd,
  s.mode AS optimizer_mode,
  s.model_version AS optimizer_model_version,
  multiIf(s.top_hourly_usd IS NOT NULL, 'optimizer', empty(JSONExtractArrayRaw(d.candidates)), NULL, 'cheapest candidate') AS suggested_from,
  multiIf(s.top_hourly_usd IS NOT NULL, s.top_hourly_usd * estimated_hours, suggested_from IS NULL, NULL, cheapest_candidate_hourly_usd * estimated_hours) AS suggested_cost_usd,
  if(suggested_cost_usd IS NULL, NULL, greatest(o.cost_usd - suggested_cost_usd, 0)) AS potential_saving_usd
FROM {db:Identifier}.job_dispatch AS d FINAL
INNER JOIN {db:Identifier}.job_outcome AS o FINAL ON o.job_id = d.job_id
LEFT JOIN (
  SELECT job_id, mode, model_version,
         JSONExtractString(JSONExtractRaw(ranked, 1), 'instance', 'provider') AS top_provider,
         JSONExtractString(JSONExtractRaw(ranked, 1), 'instance', 'instance_type') AS top_instance_type,
         if(JSONLength(ranked) > 0, JSONExtractFloat(JSONExtractRaw(ranked, 1), 'instance', 'hourly_price_usd'), NULL) AS top_hourly_usd
  FROM {db:Identifier}.instance_suggestions FINAL
  WHERE source = 'DISPATCH' AND job_id IS NOT NULL
) AS s ON s.job_id = d.job_id
SETTINGS join_use_nulls = 1;

-- GPU semantics (issue 13). Workloads say whether their GPU memory is sharded and how many
-- machines a distributed job may span; advisor-models records say when the heuristic serves
-- because no model earns its place, and the observed cost regrets behind that verdict;
-- workload-scaling holds the learned scaling per workload class.
ALTER TABLE {db:Identifier}.job_dispatch ADD COLUMN IF NOT EXISTS workload_gpu_memory_sharded Bool DEFAULT false AFTER workload_distributed;
ALTER TABLE {db:Identifier}.job_dispatch ADD COLUMN IF NOT EXISTS workload_max_nodes Int32 DEFAULT 1 AFTER workload_gpu_memory_sharded;
ALTER TABLE {db:Identifier}.recommendation_requests ADD COLUMN IF NOT EXISTS workload_gpu_memory_sharded Bool DEFAULT false AFTER workload_distributed;
ALTER TABLE {db:Identifier}.recommendation_requests ADD COLUMN IF NOT EXISTS workload_max_nodes Int32 DEFAULT 1 AFTER workload_gpu_memory_sharded;
ALTER TABLE {db:Identifier}.relevance_labels ADD COLUMN IF NOT EXISTS workload_gpu_memory_sharded Bool DEFAULT false AFTER workload_distributed;
ALTER TABLE {db:Identifier}.relevance_labels ADD COLUMN IF NOT EXISTS workload_max_nodes Int32 DEFAULT 1 AFTER workload_gpu_memory_sharded;
ALTER TABLE {db:Identifier}.advisor_models ADD COLUMN IF NOT EXISTS heuristic_serves Bool DEFAULT false AFTER training_ms;
ALTER TABLE {db:Identifier}.advisor_models ADD COLUMN IF NOT EXISTS observed_cost_regret Nullable(Float64) AFTER heuristic_serves;
ALTER TABLE {db:Identifier}.advisor_models ADD COLUMN IF NOT EXISTS heuristic_observed_cost_regret Nullable(Float64) AFTER observed_cost_regret;
ALTER TABLE {db:Identifier}.advisor_models ADD COLUMN IF NOT EXISTS cost_queries Int32 DEFAULT 0 AFTER heuristic_observed_cost_regret;

-- workload-scaling
CREATE TABLE IF NOT EXISTS {db:Identifier}.workload_scaling
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  class_key String,
  framework String,
  model_family String,
  runs Int64,
  multi_gpu_runs Int64,
  gpu_counts String,
  parallel_fraction Float64,
  prior_parallel_fraction Float64,
  observed_parallel_fraction Nullable(Float64),
  expectation_ratio Nullable(Float64),
  efficiency_at_8 Float64,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- The model history says when the heuristic serves.
CREATE OR REPLACE VIEW {db:Identifier}.advisor_model_history AS
SELECT event_time AS trained_at, model_version, sequence, promoted, heuristic_serves, reason, labels_seen,
       training_docs, heldout_queries, ndcg_at_5, ndcg_at_10, mrr,
       baseline_version, baseline_ndcg_at_5, heuristic_ndcg_at_5,
       observed_cost_regret, heuristic_observed_cost_regret, cost_queries, training_ms
FROM {db:Identifier}.advisor_models FINAL;

-- Savings, truthfully: per finished job, what was spent against what the optimizer's own pick
-- for that dispatch (the top of its DISPATCH suggestion, in the mode that served) would have
-- cost for the same work. That cost is the suggestion's estimate: the dispatch's own
-- expectation (the workload's expected_duration_h, else its estimated_duration_s on the chosen
-- offer) scaled by the job's speed on the pick (GPUs it uses, per-GPU speed, scaling
-- efficiency), x the pick's price x machines. Suggestions made before estimates carried their
-- hours (factors.hours) have no optimizer cost. A job is `covered` when it succeeded and has
-- an optimizer cost: the comparison is over covered jobs only, and its saving is signed
-- (negative: the pick would have cost more). No fallback to another reference.
CREATE OR REPLACE VIEW {db:Identifier}.savings_report AS
SELECT
  d.job_id AS job_id,
  d.team AS team,
  d.event_time AS dispatched_at,
  o.status AS status,
  d.instance_provider AS provider,
  d.instance_region AS region,
  d.instance_instance_type AS instance_type,
  d.instance_spot AS spot,
  o.cost_usd AS actual_cost_usd,
  o.duration_s / 3600 AS actual_hours,
  d.estimated_cost_usd AS estimated_cost_usd,
  d.estimated_duration_s / 3600 AS estimated_hours,
  s.mode AS optimizer_mode,
  s.model_version AS optimizer_model_version,
  s.top_provider AS optimizer_provider,
  s.top_region AS optimizer_region,
  s.top_instance_type AS optimizer_instance_type,
  s.top_hourly_usd AS optimizer_hourly_usd,
  s.top_nodes AS optimizer_nodes,
  s.top_hours AS optimizer_hours,
  if(s.top_hours IS NULL, NULL, s.top_cost_usd) AS optimizer_cost_usd,
  toBool(CAST(o.status AS String) = 'SUCCEEDED') AS succeeded,
  toBool(succeeded AND optimizer_cost_usd IS NOT NULL) AS covered,
  if(covered, actual_cost_usd - optimizer_cost_usd, NULL) AS saving_usd,
  toBool(ifNull(s.top_provider = d.instance_provider AND s.top_region = d.instance_region AND s.top_instance_type = d.instance_instance_type, false)) AS same_choice
FROM {db:Identifier}.job_dispatch AS d FINAL
INNER JOIN {db:Identifier}.job_outcome AS o FINAL ON o.job_id = d.job_id
LEFT JOIN (
  SELECT job_id, mode, model_version,
         JSONExtractRaw(ranked, 1) AS top,
         if(JSONLength(ranked) > 0, JSONExtractString(top, 'instance', 'provider'), NULL) AS top_provider,
         if(JSONLength(ranked) > 0, JSONExtractString(top, 'instance', 'region'), NULL) AS top_region,
         if(JSONLength(ranked) > 0, JSONExtractString(top, 'instance', 'instance_type'), NULL) AS top_instance_type,
         if(JSONLength(ranked) > 0, JSONExtractFloat(top, 'instance', 'hourly_price_usd'), NULL) AS top_hourly_usd,
         if(JSONLength(ranked) > 0, if(JSONHas(top, 'nodes'), JSONExtractInt(top, 'nodes'), 1), NULL) AS top_nodes,
         if(JSONHas(top, 'factors', 'hours'), JSONExtractFloat(top, 'factors', 'hours'), NULL) AS top_hours,
         if(JSONLength(ranked) > 0, JSONExtractFloat(top, 'estimated_cost_usd'), NULL) AS top_cost_usd
  FROM {db:Identifier}.instance_suggestions FINAL
  WHERE source = 'DISPATCH' AND job_id IS NOT NULL
) AS s ON s.job_id = d.job_id
SETTINGS join_use_nulls = 1;

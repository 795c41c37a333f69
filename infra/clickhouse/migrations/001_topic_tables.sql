-- Raw event tables (inputs) and decision tables (outputs, DLQ), one per topic, derived
-- from schemas/*.avsc by infra/clickhouse/flatten.ts. ReplacingMergeTree on event_id:
-- the sink is at-least-once, the table deduplicates, so read with FINAL (the views do).

-- job-dispatch
CREATE TABLE IF NOT EXISTS {db:Identifier}.job_dispatch
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  job_id String,
  team String,
  workload_framework LowCardinality(String),
  workload_model_family String,
  workload_param_count Int64,
  workload_dataset_size_gb Float64,
  workload_gpu_memory_required_gb Float64,
  workload_num_gpus Int32,
  workload_expected_duration_h Nullable(Float64),
  workload_distributed Bool,
  instance_provider String,
  instance_region String,
  instance_instance_type String,
  instance_spot Bool,
  instance_hourly_price_usd Float64,
  candidates String,
  estimated_cost_usd Float64,
  estimated_duration_s Float64,
  baseline_metric Nullable(Float64),
  metric_goal LowCardinality(String),
  checkpointing Bool,
  hyperparameters String,
  hpo_study_id Nullable(String),
  hpo_trial_id Nullable(String),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- job-outcome
CREATE TABLE IF NOT EXISTS {db:Identifier}.job_outcome
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  job_id String,
  status LowCardinality(String),
  duration_s Float64,
  cost_usd Float64,
  metric Nullable(Float64),
  preemption_count Int32,
  error Nullable(String),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- dataset-access
CREATE TABLE IF NOT EXISTS {db:Identifier}.dataset_access
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  dataset_id String,
  version Int32,
  format LowCardinality(String),
  tabular Bool,
  size_bytes Int64,
  file_count Int32,
  operation LowCardinality(String),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- instance-catalog
CREATE TABLE IF NOT EXISTS {db:Identifier}.instance_catalog
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  provider String,
  region String,
  instance_type String,
  gpu_type Nullable(String),
  gpu_count Int32,
  gpu_memory_gb Float64,
  vcpus Int32,
  memory_gb Float64,
  on_demand_price_usd Float64,
  spot_price_usd Nullable(Float64),
  available Bool,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- recommendation-requests
CREATE TABLE IF NOT EXISTS {db:Identifier}.recommendation_requests
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  request_id String,
  workload_framework LowCardinality(String),
  workload_model_family String,
  workload_param_count Int64,
  workload_dataset_size_gb Float64,
  workload_gpu_memory_required_gb Float64,
  workload_num_gpus Int32,
  workload_expected_duration_h Nullable(Float64),
  workload_distributed Bool,
  goal LowCardinality(String),
  budget_usd Nullable(Float64),
  top_k Int32,
  region_allow_list String,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- hpo-studies
CREATE TABLE IF NOT EXISTS {db:Identifier}.hpo_studies
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  study_id String,
  params String,
  objectives String,
  budget Int32,
  parallelism Int32,
  seed Int64,
  strategy String,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- relevance-labels
CREATE TABLE IF NOT EXISTS {db:Identifier}.relevance_labels
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  job_id String,
  query_id String,
  team String,
  label Int32,
  status LowCardinality(String),
  workload_framework LowCardinality(String),
  workload_model_family String,
  workload_param_count Int64,
  workload_dataset_size_gb Float64,
  workload_gpu_memory_required_gb Float64,
  workload_num_gpus Int32,
  workload_expected_duration_h Nullable(Float64),
  workload_distributed Bool,
  instance_provider String,
  instance_region String,
  instance_instance_type String,
  instance_spot Bool,
  instance_hourly_price_usd Float64,
  cost_usd Float64,
  duration_s Float64,
  cost_ratio Nullable(Float64),
  duration_ratio Nullable(Float64),
  metric_improvement Nullable(Float64),
  preemption_count Int32,
  checkpointing Bool,
  dispatch_event_id String,
  outcome_event_id String,
  dispatch_time DateTime64(3, 'UTC'),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- instance-suggestions
CREATE TABLE IF NOT EXISTS {db:Identifier}.instance_suggestions
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  source LowCardinality(String),
  request_id Nullable(String),
  job_id Nullable(String),
  team String,
  query_id String,
  mode LowCardinality(String),
  model_version Nullable(String),
  ranked String,
  chosen_cost_usd Nullable(Float64),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- hpo-suggestions
CREATE TABLE IF NOT EXISTS {db:Identifier}.hpo_suggestions
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  study_id String,
  trial_id String,
  trial_number Int32,
  strategy String,
  params String,
  best_value Nullable(Float64),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- spot-risk
CREATE TABLE IF NOT EXISTS {db:Identifier}.spot_risk
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  provider String,
  region String,
  instance_type String,
  runs Int64,
  preemptions Int64,
  preemption_rate Float64,
  rate_lower Float64,
  rate_upper Float64,
  avg_savings_pct Nullable(Float64),
  expected_cost_ratio Nullable(Float64),
  risk_band String,
  recommend_spot Bool,
  reason String,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- tiering-decisions
CREATE TABLE IF NOT EXISTS {db:Identifier}.tiering_decisions
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  dataset_id String,
  tier LowCardinality(String),
  previous_tier Nullable(String),
  accesses_7d Int32,
  accesses_30d Int32,
  accesses_90d Int32,
  last_access_time Nullable(DateTime64(3, 'UTC')),
  size_bytes Int64,
  format String,
  format_advice Nullable(String),
  estimated_size_bytes Nullable(Int64),
  monthly_saving_usd Float64,
  reason String,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- cost-anomalies
CREATE TABLE IF NOT EXISTS {db:Identifier}.cost_anomalies
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  job_id String,
  team String,
  workload_class String,
  instance_type String,
  cost_usd Float64,
  median_cost_usd Float64,
  mad_usd Float64,
  robust_z Float64,
  threshold Float64,
  sample_count Int32,
  reason String,
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- dlq
CREATE TABLE IF NOT EXISTS {db:Identifier}.dead_letters
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  source_topic String,
  source_partition Int32,
  source_offset Int64,
  error_code String,
  reason String,
  processor String,
  schema_id Nullable(Int32),
  key Nullable(String),
  value Nullable(String),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

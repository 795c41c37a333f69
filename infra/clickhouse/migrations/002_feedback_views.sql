-- Views analysts start from. Every view reads with FINAL, so replays never double count.

-- A run: a dispatch joined with its outcome (when it has one).
CREATE VIEW IF NOT EXISTS {db:Identifier}.job_runs AS
SELECT
  d.job_id AS job_id,
  d.team AS team,
  d.event_time AS dispatched_at,
  o.event_time AS finished_at,
  d.instance_provider AS provider,
  d.instance_region AS region,
  d.instance_instance_type AS instance_type,
  d.instance_spot AS spot,
  d.workload_framework AS framework,
  d.workload_model_family AS model_family,
  d.estimated_cost_usd AS estimated_cost_usd,
  o.status AS status,
  o.cost_usd AS cost_usd,
  o.duration_s AS duration_s,
  o.preemption_count AS preemption_count,
  d.checkpointing AS checkpointing
FROM {db:Identifier}.job_dispatch AS d FINAL
INNER JOIN {db:Identifier}.job_outcome AS o FINAL ON o.job_id = d.job_id;

-- Relevance labels per query and day: is the platform choosing better over time?
CREATE VIEW IF NOT EXISTS {db:Identifier}.label_daily AS
SELECT
  toDate(event_time) AS day,
  query_id,
  count() AS samples,
  avg(label) AS mean_label,
  countIf(label = 0) AS failed,
  countIf(label = 4) AS optimal
FROM {db:Identifier}.relevance_labels FINAL
GROUP BY day, query_id;

-- What the DLQ holds, by topic, code and day.
CREATE VIEW IF NOT EXISTS {db:Identifier}.dead_letters_daily AS
SELECT toDate(event_time) AS day, source_topic, error_code, count() AS records
FROM {db:Identifier}.dead_letters FINAL
GROUP BY day, source_topic, error_code;

-- Storage optimizer views. Every view reads with FINAL, so replays never double count.

-- The current recommendation per dataset: its latest tiering decision.
CREATE VIEW IF NOT EXISTS {db:Identifier}.storage_recommendations AS
SELECT
  dataset_id,
  argMax(tier, event_time) AS tier,
  argMax(previous_tier, event_time) AS previous_tier,
  argMax(format_advice, event_time) AS format_advice,
  argMax(size_bytes, event_time) AS size_bytes,
  argMax(estimated_size_bytes, event_time) AS estimated_size_bytes,
  argMax(monthly_saving_usd, event_time) AS monthly_saving_usd,
  argMax(reason, event_time) AS reason,
  max(event_time) AS decided_at
FROM {db:Identifier}.tiering_decisions FINAL
GROUP BY dataset_id;

-- Accesses per dataset and day, by operation.
CREATE VIEW IF NOT EXISTS {db:Identifier}.dataset_access_daily AS
SELECT toDate(event_time) AS day, dataset_id, operation, count() AS accesses, max(size_bytes) AS size_bytes
FROM {db:Identifier}.dataset_access FINAL
GROUP BY day, dataset_id, operation;

-- Size per dataset version and its growth over the previous version.
CREATE VIEW IF NOT EXISTS {db:Identifier}.dataset_growth AS
SELECT
  dataset_id,
  version,
  first_seen,
  size_bytes,
  if(rn = 1, NULL, size_bytes - prev_size_bytes) AS growth_bytes,
  if(rn = 1 OR prev_size_bytes = 0, NULL, (size_bytes - prev_size_bytes) / prev_size_bytes) AS growth_ratio
FROM
(
  SELECT
    dataset_id, version, first_seen, size_bytes,
    lagInFrame(size_bytes) OVER (PARTITION BY dataset_id ORDER BY version ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev_size_bytes,
    row_number() OVER (PARTITION BY dataset_id ORDER BY version) AS rn
  FROM
  (
    SELECT dataset_id, version, min(event_time) AS first_seen, max(size_bytes) AS size_bytes
    FROM {db:Identifier}.dataset_access FINAL
    GROUP BY dataset_id, version
  )
);

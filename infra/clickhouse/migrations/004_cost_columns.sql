-- Spot risk: expected cost without checkpoints and the run length behind the expectations;
-- cost anomalies: the offer's provider and region.
ALTER TABLE {db:Identifier}.spot_risk ADD COLUMN IF NOT EXISTS expected_cost_ratio_no_checkpoint Nullable(Float64) AFTER expected_cost_ratio;
ALTER TABLE {db:Identifier}.spot_risk ADD COLUMN IF NOT EXISTS mean_run_hours Nullable(Float64) AFTER expected_cost_ratio_no_checkpoint;
ALTER TABLE {db:Identifier}.cost_anomalies ADD COLUMN IF NOT EXISTS provider String AFTER workload_class;
ALTER TABLE {db:Identifier}.cost_anomalies ADD COLUMN IF NOT EXISTS region String AFTER provider;

-- Relevance labels carry the raw metric and the HPO study and trial of the run; HPO
-- suggestions say when a study is done and carry the engine's audit records (JSON strings)
-- since the previous suggestion; studies may carry guardrails.
ALTER TABLE {db:Identifier}.relevance_labels ADD COLUMN IF NOT EXISTS metric Nullable(Float64) AFTER dispatch_time;
ALTER TABLE {db:Identifier}.relevance_labels ADD COLUMN IF NOT EXISTS hpo_study_id Nullable(String) AFTER metric;
ALTER TABLE {db:Identifier}.relevance_labels ADD COLUMN IF NOT EXISTS hpo_trial_id Nullable(String) AFTER hpo_study_id;
ALTER TABLE {db:Identifier}.hpo_suggestions ADD COLUMN IF NOT EXISTS done Bool DEFAULT false AFTER best_value;
ALTER TABLE {db:Identifier}.hpo_suggestions ADD COLUMN IF NOT EXISTS decisions String DEFAULT '[]' AFTER done;
ALTER TABLE {db:Identifier}.hpo_studies ADD COLUMN IF NOT EXISTS max_step Nullable(Float64) AFTER strategy;
ALTER TABLE {db:Identifier}.hpo_studies ADD COLUMN IF NOT EXISTS rollback_after Nullable(Int32) AFTER max_step;

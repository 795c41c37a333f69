-- advisor-models: every training run of the learned ranker with its held-out evaluation,
-- promoted or not (the ONNX model, base64, only when promoted). Derived from
-- schemas/advisor-models.avsc like the other topic tables.
CREATE TABLE IF NOT EXISTS {db:Identifier}.advisor_models
(
  event_id String,
  event_time DateTime64(3, 'UTC'),
  model_version String,
  sequence Int32,
  promoted Bool,
  reason String,
  labels_seen Int64,
  training_docs Int32,
  training_queries Int32,
  heldout_docs Int32,
  heldout_queries Int32,
  ndcg_at_5 Nullable(Float64),
  ndcg_at_10 Nullable(Float64),
  mrr Nullable(Float64),
  baseline_version Nullable(String),
  baseline_ndcg_at_5 Nullable(Float64),
  baseline_ndcg_at_10 Nullable(Float64),
  baseline_mrr Nullable(Float64),
  heuristic_ndcg_at_5 Nullable(Float64),
  training_ms Float64,
  onnx Nullable(String),
  _topic LowCardinality(String),
  _partition Int32,
  _offset Int64,
  _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id;

-- The model history without the model bytes: what an analyst charts.
CREATE VIEW IF NOT EXISTS {db:Identifier}.advisor_model_history AS
SELECT event_time AS trained_at, model_version, sequence, promoted, reason, labels_seen,
       training_docs, heldout_queries, ndcg_at_5, ndcg_at_10, mrr,
       baseline_version, baseline_ndcg_at_5, heuristic_ndcg_at_5, training_ms
FROM {db:Identifier}.advisor_models FINAL;

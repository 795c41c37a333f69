/**
 * The relevance label of a finished job, on the seed's 0-4 scale:
 * 0 failed, 1 poor, 2 adequate, 3 good, 4 optimal. Pure: no Kafka, no clock.
 *
 * Rules (every threshold is configuration, `feedback.*`):
 * - FAILED, or PREEMPTED as the final status: 0.
 * - CANCELLED: no label; a user's decision says nothing about the instance.
 * - SUCCEEDED: each of cost ratio (actual / estimated) and duration ratio is bucketed:
 *   <= optimal -> 4, <= good -> 3, <= adequate -> 2, else 1; an unknown ratio (no estimate)
 *   counts as 3. The label is the worse of the two.
 * - Metric: relative change against the dispatch's baseline, signed so that > 0 is better.
 *   Below `metricRegressionTolerance`: one step down (not below 1). At or above
 *   `metricGainBonus`: one step up (not above 4).
 * - Preempted at least once without checkpointing: one step down (not below 1).
 */
import type { JobDispatch, JobOutcome } from '../../schemas/generated/records.ts';

export interface LabelRules {
  optimalCostRatio: number;
  optimalDurationRatio: number;
  goodCostRatio: number;
  goodDurationRatio: number;
  adequateCostRatio: number;
  adequateDurationRatio: number;
  metricRegressionTolerance: number;
  metricGainBonus: number;
  preemptionPenalty: boolean;
}

export interface LabelResult {
  label: number;
  costRatio: number | null;
  durationRatio: number | null;
  metricImprovement: number | null;
}

function ratio(actual: number, estimated: number): number | null {
  return estimated > 0 ? actual / estimated : null;
}

function bucket(r: number | null, optimal: number, good: number, adequate: number): number {
  if (r === null) return 3;
  if (r <= optimal) return 4;
  if (r <= good) return 3;
  if (r <= adequate) return 2;
  return 1;
}

/** Relative metric change, > 0 is better whatever the goal; null when it cannot be known. */
export function metricImprovement(d: Pick<JobDispatch, 'baseline_metric' | 'metric_goal'>, metric: number | null): number | null {
  const base = d.baseline_metric;
  if (base === null || metric === null || base === 0) return null;
  const change = (metric - base) / Math.abs(base);
  return d.metric_goal === 'MINIMIZE' ? -change : change;
}

export function relevanceLabel(d: JobDispatch, o: JobOutcome, rules: LabelRules): LabelResult | null {
  const costRatio = ratio(o.cost_usd, d.estimated_cost_usd);
  const durationRatio = ratio(o.duration_s, d.estimated_duration_s);
  const improvement = metricImprovement(d, o.metric);
  if (o.status === 'CANCELLED') return null;
  if (o.status !== 'SUCCEEDED') return { label: 0, costRatio, durationRatio, metricImprovement: improvement };
  let label = Math.min(
    bucket(costRatio, rules.optimalCostRatio, rules.goodCostRatio, rules.adequateCostRatio),
    bucket(durationRatio, rules.optimalDurationRatio, rules.goodDurationRatio, rules.adequateDurationRatio),
  );
  if (improvement !== null && improvement < rules.metricRegressionTolerance) label = Math.max(1, label - 1);
  else if (improvement !== null && improvement >= rules.metricGainBonus) label = Math.min(4, label + 1);
  if (rules.preemptionPenalty && o.preemption_count > 0 && !d.checkpointing) label = Math.max(1, label - 1);
  return { label, costRatio, durationRatio, metricImprovement: improvement };
}

/**
 * The dispatch/outcome join, as pure functions over one job's pending state. Either side
 * may arrive first; the other completes the pair. A completed job leaves a small marker
 * behind for `completedTtlMs` so duplicates of either side are recognised and dropped.
 * Everything is on event time: nothing here reads a clock.
 */
import type { JobDispatch, JobOutcome, RelevanceLabel } from '../../schemas/generated/records.ts';
import { relevanceLabel, type LabelRules } from './relevance.ts';
import { workloadHash } from './workloadHash.ts';

export interface PendingJob {
  dispatch?: JobDispatch;
  outcome?: JobOutcome;
  /** Event time at which the pair completed; set on the marker left behind. */
  completedAt?: number;
  /** Event time after which (plus grace) the entry leaves the store. */
  expiresAt: number;
}

export interface JoinRules extends LabelRules {
  pendingTtlMs: number;
  completedTtlMs: number;
}

export type JoinStep =
  | { kind: 'pending'; next: PendingJob }
  | { kind: 'joined'; next: PendingJob; label: RelevanceLabel | null }
  | { kind: 'duplicate'; next: PendingJob };

export function buildLabel(d: JobDispatch, o: JobOutcome, rules: LabelRules): RelevanceLabel | null {
  const result = relevanceLabel(d, o, rules);
  if (!result) return null;
  return {
    event_id: `label:${d.job_id}`,
    event_time: o.event_time,
    job_id: d.job_id,
    query_id: workloadHash(d.workload),
    team: d.team,
    label: result.label,
    status: o.status,
    workload: d.workload,
    instance: d.instance,
    cost_usd: o.cost_usd,
    duration_s: o.duration_s,
    cost_ratio: result.costRatio,
    duration_ratio: result.durationRatio,
    metric_improvement: result.metricImprovement,
    preemption_count: o.preemption_count,
    checkpointing: d.checkpointing,
    dispatch_event_id: d.event_id,
    outcome_event_id: o.event_id,
    dispatch_time: d.event_time,
    metric: o.metric,
    hpo_study_id: d.hpo_study_id,
    hpo_trial_id: d.hpo_trial_id,
  };
}

function complete(d: JobDispatch, o: JobOutcome, rules: JoinRules): JoinStep {
  const completedAt = Math.max(d.event_time, o.event_time);
  return { kind: 'joined', next: { completedAt, expiresAt: completedAt + rules.completedTtlMs }, label: buildLabel(d, o, rules) };
}

export function onDispatch(prev: PendingJob | undefined, d: JobDispatch, rules: JoinRules): JoinStep {
  if (prev && (prev.completedAt !== undefined || prev.dispatch)) return { kind: 'duplicate', next: prev };
  if (prev?.outcome) return complete(d, prev.outcome, rules);
  return { kind: 'pending', next: { dispatch: d, expiresAt: d.event_time + rules.pendingTtlMs } };
}

export function onOutcome(prev: PendingJob | undefined, o: JobOutcome, rules: JoinRules): JoinStep {
  if (prev && (prev.completedAt !== undefined || prev.outcome)) return { kind: 'duplicate', next: prev };
  if (prev?.dispatch) return complete(prev.dispatch, o, rules);
  return { kind: 'pending', next: { outcome: o, expiresAt: o.event_time + rules.pendingTtlMs } };
}

/** Whether an entry has outlived its TTL plus grace at this stream time. */
export function isExpired(p: PendingJob, streamTime: number, graceMs: number): boolean {
  return p.expiresAt + graceMs < streamTime;
}

/**
 * The entries to evict when a store holds more than `capacity`: the ones that would expire
 * first, plus 1% headroom so eviction is not paid on every record.
 */
export function overCapacity(entries: Iterable<[string, PendingJob]>, size: number, capacity: number): string[] {
  if (size <= capacity) return [];
  const excess = size - capacity + Math.ceil(capacity / 100);
  return [...entries]
    .sort((a, b) => a[1].expiresAt - b[1].expiresAt)
    .slice(0, excess)
    .map(([k]) => k);
}

/**
 * The dispatch/outcome join, as pure functions over one job's pending state. Either side
 * may arrive first; the other completes the pair. A completed job leaves a small marker
 * behind for `completedTtlMs` so duplicates of either side are recognised and dropped.
 * Everything is on event time: nothing here reads a clock.
 *
 * A duplicate is a second dispatch (or outcome) of a job. One with the same event id and
 * the same content is a redelivery: dropped and counted. One with the same event id and
 * other content is a conflict (the publisher changed a record it had already sent): the
 * first one stands, and the second goes to the DLQ as CONFLICTING_DUPLICATE. While the job
 * is pending the whole record is compared (only when the same event id comes again). The
 * marker a completed job leaves keeps each side's event id and a fingerprint of the fields
 * its label's ratios come from (the dispatch's time, estimates and instance type and price;
 * the outcome's status, duration, cost and metric): a change to another field of an
 * already-labelled job counts as a redelivery. A digest of the whole record at every join
 * cost as much as a large share of the join itself (measured under load: ~90 µs per job for
 * two SHA-1s of the JSON), so the hot path pays only for a few number formats.
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
  /** On the marker: each side's event id and fingerprint, to tell a redelivery from a conflict. */
  dispatchId?: string;
  dispatchPrint?: string;
  outcomeId?: string;
  outcomePrint?: string;
}

export interface JoinRules extends LabelRules {
  pendingTtlMs: number;
  completedTtlMs: number;
}

export type JoinStep =
  | { kind: 'pending'; next: PendingJob }
  | { kind: 'joined'; next: PendingJob; label: RelevanceLabel | null }
  | { kind: 'duplicate'; next: PendingJob }
  /** Same event id as the side already seen, other content: the first one stands. */
  | { kind: 'conflict'; next: PendingJob; firstEventId: string };

/** The dispatch fields the label's ratios come from, as one string (a few number formats: this runs on every join). */
export function dispatchFingerprint(d: JobDispatch): string {
  return `${d.event_time}|${d.estimated_cost_usd}|${d.estimated_duration_s}|${d.instance.instance_type}|${d.instance.hourly_price_usd}`;
}

/** The outcome fields the label comes from, as one string. */
export function outcomeFingerprint(o: JobOutcome): string {
  return `${o.status}|${o.duration_s}|${o.cost_usd}|${o.metric}`;
}

function fingerprint(v: JobDispatch | JobOutcome): string {
  return 'workload' in v ? dispatchFingerprint(v) : outcomeFingerprint(v);
}

/** A second dispatch or outcome of a job: a redelivery (same id, same content) or a conflict. */
function repeated(prev: PendingJob, seen: JobDispatch | JobOutcome | undefined, id: string | undefined, print: string | undefined, again: JobDispatch | JobOutcome): JoinStep {
  if (seen) {
    // Pending: the whole record, compared only on this rare path.
    if (seen.event_id === again.event_id && JSON.stringify(seen) !== JSON.stringify(again)) return { kind: 'conflict', next: prev, firstEventId: seen.event_id };
  } else if (id === again.event_id && print !== undefined && print !== fingerprint(again)) {
    return { kind: 'conflict', next: prev, firstEventId: id };
  }
  return { kind: 'duplicate', next: prev };
}

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
  return {
    kind: 'joined',
    next: { completedAt, expiresAt: completedAt + rules.completedTtlMs, dispatchId: d.event_id, dispatchPrint: dispatchFingerprint(d), outcomeId: o.event_id, outcomePrint: outcomeFingerprint(o) },
    label: buildLabel(d, o, rules),
  };
}

export function onDispatch(prev: PendingJob | undefined, d: JobDispatch, rules: JoinRules): JoinStep {
  if (prev && (prev.completedAt !== undefined || prev.dispatch)) return repeated(prev, prev.dispatch, prev.dispatchId, prev.dispatchPrint, d);
  if (prev?.outcome) return complete(d, prev.outcome, rules);
  return { kind: 'pending', next: { dispatch: d, expiresAt: d.event_time + rules.pendingTtlMs } };
}

export function onOutcome(prev: PendingJob | undefined, o: JobOutcome, rules: JoinRules): JoinStep {
  if (prev && (prev.completedAt !== undefined || prev.outcome)) return repeated(prev, prev.outcome, prev.outcomeId, prev.outcomePrint, o);
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

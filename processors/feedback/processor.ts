/**
 * Wires the feedback join to its store and topics: job-dispatch + job-outcome, keyed by
 * job id, into relevance-labels.
 *
 * What happens to a dispatch whose outcome never arrives: once stream time passes its
 * event time + `feedback.pendingTtlMs` + `streams.graceMs`, it leaves the store and goes
 * to the DLQ with code OUTCOME_TIMEOUT, re-encoded, so it can be inspected or replayed;
 * nothing disappears silently. An outcome without a dispatch leaves the same way with
 * ORPHAN_OUTCOME. Past `maxPendingPerPartition` entries, those that would expire first
 * leave early with PENDING_CAPACITY; they are found through a time index (ExpiryIndex, a
 * heap), not by sorting the store. A record that is already past its TTL + grace when it
 * arrives goes to the DLQ as LATE_EVENT. A second dispatch or outcome with the same event id
 * and other content goes to the DLQ as CONFLICTING_DUPLICATE (an exact one is dropped and
 * counted as `feedback_duplicates`).
 */
import type { JobDispatch, JobOutcome } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { isExpired, onDispatch, onOutcome, type JoinRules, type JoinStep, type PendingJob } from './join.ts';
import { ExpiryIndex } from '../expiryIndex.ts';

const expiresAt = (p: PendingJob) => p.expiresAt;

export const PENDING_STORE = 'feedback-pending';

export interface FeedbackOptions extends JoinRules {
  maxPendingPerPartition: number;
}

export function feedbackProcessor(options: FeedbackOptions): Processor {
  const name = 'feedback';

  function leave(ctx: ProcessorContext, key: string, p: PendingJob, capacity: boolean): void {
    const waiting = p.dispatch
      ? { side: 'dispatch', missing: 'outcome', timeout: 'OUTCOME_TIMEOUT' as const, record: { role: 'job-dispatch' as const, value: p.dispatch, eventTime: p.dispatch.event_time } }
      : p.outcome
        ? { side: 'outcome', missing: 'dispatch', timeout: 'ORPHAN_OUTCOME' as const, record: { role: 'job-outcome' as const, value: p.outcome, eventTime: p.outcome.event_time } }
        : null;
    if (waiting) {
      ctx.deadLetter({
        code: capacity ? 'PENDING_CAPACITY' : waiting.timeout,
        reason: capacity
          ? `pending store over ${options.maxPendingPerPartition} entries; ${waiting.side} evicted before its ${waiting.missing} arrived`
          : `no ${waiting.missing} for job ${key} within ${options.pendingTtlMs} ms of event time`,
        key,
        record: waiting.record,
      });
    }
    ctx.count(capacity ? 'feedback_evicted' : 'feedback_expired');
  }

  return {
    name,
    inputs: ['job-dispatch', 'job-outcome'],
    stores: [{ name: PENDING_STORE }],

    process(record: InputRecord, ctx: ProcessorContext): void {
      const store = ctx.getStateStore<PendingJob>(PENDING_STORE);
      const isDispatch = record.role === 'job-dispatch';
      const value = record.value as JobDispatch | JobOutcome;
      const jobId = value.job_id;
      if (record.eventTime + options.pendingTtlMs + ctx.graceMs < ctx.streamTime) {
        ctx.deadLetter({
          code: 'LATE_EVENT',
          reason: `event time ${new Date(record.eventTime).toISOString()} is older than stream time minus TTL and grace`,
          key: jobId,
          record: { role: record.role, value, eventTime: record.eventTime },
          source: { topic: record.topic, partition: record.partition, offset: record.offset },
        });
        return;
      }
      const prev = store.get(jobId);
      const step: JoinStep = isDispatch ? onDispatch(prev, value as JobDispatch, options) : onOutcome(prev, value as JobOutcome, options);
      if (step.kind === 'duplicate') {
        ctx.count('feedback_duplicates');
        return;
      }
      if (step.kind === 'conflict') {
        ctx.deadLetter({
          code: 'CONFLICTING_DUPLICATE',
          reason: `${isDispatch ? 'dispatch' : 'outcome'} ${value.event_id} of job ${jobId} was already received with other content; the first one stands`,
          key: jobId,
          record: { role: record.role, value, eventTime: record.eventTime },
          source: { topic: record.topic, partition: record.partition, offset: record.offset },
        });
        return;
      }
      store.put(jobId, step.next);
      const index = ExpiryIndex.of(store, expiresAt);
      index.add(jobId, step.next.expiresAt);
      if (step.kind === 'joined' && step.label) ctx.forward('relevance-labels', jobId, step.label);
      if (step.kind === 'pending' && store.size > options.maxPendingPerPartition) {
        // The entries that would expire first leave, plus 1% headroom so eviction is not paid on every record.
        const excess = store.size - options.maxPendingPerPartition + Math.ceil(options.maxPendingPerPartition / 100);
        for (const key of index.oldest(excess)) {
          const p = store.get(key) as PendingJob;
          store.delete(key);
          leave(ctx, key, p, true);
        }
      }
    },

    punctuate(streamTime: number, ctx: ProcessorContext): void {
      const store = ctx.getStateStore<PendingJob>(PENDING_STORE);
      const expired: Array<[string, PendingJob]> = [];
      for (const [key, p] of store.entries()) if (isExpired(p, streamTime, ctx.graceMs)) expired.push([key, p]);
      for (const [key, p] of expired) {
        store.delete(key);
        if (p.completedAt === undefined) leave(ctx, key, p, false);
      }
    },
  };
}

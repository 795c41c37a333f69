import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { isExpired, onDispatch, onOutcome, overCapacity, type PendingJob } from '../../../../processors/feedback/join.ts';
import { workloadHash } from '../../../../processors/feedback/workloadHash.ts';
import { EventGenerator } from '../../../../simulate/generator.ts';

const rules = DEFAULTS.feedback;
const g = new EventGenerator({ seed: 5, runId: 'join' });
const { dispatch, outcome } = g.job(Date.UTC(2026, 0, 1));

describe('feedback join', () => {
  it('joins dispatch then outcome', () => {
    const a = onDispatch(undefined, dispatch, rules);
    expect(a.kind).toBe('pending');
    const b = onOutcome(a.next, outcome, rules);
    expect(b.kind).toBe('joined');
    if (b.kind !== 'joined') return;
    expect(b.label?.job_id).toBe(dispatch.job_id);
    expect(b.label?.query_id).toBe(workloadHash(dispatch.workload));
    expect(b.label?.event_id).toBe(`label:${dispatch.job_id}`);
    expect(b.next.dispatch).toBeUndefined();
  });

  it('joins outcome then dispatch to the same label', () => {
    const forward = onOutcome(onDispatch(undefined, dispatch, rules).next, outcome, rules);
    const backward = onDispatch(onOutcome(undefined, outcome, rules).next, dispatch, rules);
    expect(backward).toEqual(forward);
  });

  it('drops duplicates of either side, before and after completion', () => {
    const pending = onDispatch(undefined, dispatch, rules).next;
    expect(onDispatch(pending, dispatch, rules).kind).toBe('duplicate');
    const done = onOutcome(pending, outcome, rules).next;
    expect(onOutcome(done, outcome, rules).kind).toBe('duplicate');
    expect(onDispatch(done, dispatch, rules).kind).toBe('duplicate');
  });

  it('expires on event time plus grace', () => {
    const pending = onDispatch(undefined, dispatch, rules).next;
    const limit = dispatch.event_time + rules.pendingTtlMs + 1000;
    expect(isExpired(pending, limit, 1000)).toBe(false);
    expect(isExpired(pending, limit + 1, 1000)).toBe(true);
  });

  it('evicts the entries that would expire first, with headroom', () => {
    const entries: Array<[string, PendingJob]> = Array.from({ length: 250 }, (_, i) => [`k${i}`, { expiresAt: 1000 - i }]);
    expect(overCapacity(entries, 250, 300)).toEqual([]);
    const evicted = overCapacity(entries, 250, 200);
    expect(evicted).toHaveLength(52);
    expect(evicted[0]).toBe('k249');
  });

  it('hashes similar workloads alike and different ones apart', () => {
    const w = dispatch.workload;
    expect(workloadHash({ ...w, param_count: w.param_count * 1.1 })).toBe(workloadHash(w));
    expect(workloadHash({ ...w, param_count: w.param_count * 8 })).not.toBe(workloadHash(w));
    expect(workloadHash({ ...w, framework: w.framework === 'JAX' ? 'PYTORCH' : 'JAX' })).not.toBe(workloadHash(w));
  });
});

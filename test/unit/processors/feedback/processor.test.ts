/** The feedback processor driven through a test context: time is the records' own. */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { feedbackProcessor } from '../../../../processors/feedback/processor.ts';
import { EventGenerator } from '../../../../simulate/generator.ts';
import type { Emission, InputRecord } from '../../../../topology/processor.ts';
import { StreamTask } from '../../../../topology/task.ts';

const DAY = 86_400_000;

function driver(overrides: Partial<typeof DEFAULTS.feedback> = {}) {
  const processor = feedbackProcessor({ ...DEFAULTS.feedback, ...overrides });
  const task = new StreamTask(0, [processor], { graceMs: 0, punctuateIntervalMs: 1 });
  task.init();
  let offset = 0;
  const pipe = (role: 'job-dispatch' | 'job-outcome', value: InputRecord['value']): Emission[] => {
    const v = value as { event_time: number; job_id: string };
    const out = task.process({ role, source: role, key: v.job_id, value, eventTime: v.event_time, topic: role, partition: 0, offset: String(offset++) });
    return [...out, ...task.maybePunctuate()];
  };
  return { task, pipe };
}

describe('feedback processor', () => {
  const g = new EventGenerator({ seed: 21, runId: 'proc' });
  const t0 = Date.UTC(2026, 0, 1);

  it('sends a dispatch whose outcome never comes to the DLQ once stream time passes its TTL', () => {
    const { task, pipe } = driver({ pendingTtlMs: DAY });
    const lonely = g.job(t0);
    expect(pipe('job-dispatch', lonely.dispatch)).toEqual([]);
    const later = g.job(t0 + 2 * DAY);
    const out = pipe('job-dispatch', later.dispatch);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'dead-letter', code: 'OUTCOME_TIMEOUT', key: lonely.dispatch.job_id, record: { role: 'job-dispatch', value: lonely.dispatch } });
    expect(task.stores.get('feedback-pending')?.store.has(lonely.dispatch.job_id)).toBe(false);
  });

  it('sends an outcome without dispatch to the DLQ as ORPHAN_OUTCOME, and a too-late record as LATE_EVENT', () => {
    const { pipe } = driver({ pendingTtlMs: DAY });
    const orphan = g.job(t0);
    pipe('job-outcome', orphan.outcome);
    const out = pipe('job-dispatch', g.job(orphan.outcome.event_time + 2 * DAY).dispatch);
    expect(out.map((e) => (e.kind === 'dead-letter' ? e.code : e.kind))).toEqual(['ORPHAN_OUTCOME']);
    const late = pipe('job-dispatch', g.job(t0 - DAY).dispatch);
    expect(late.map((e) => (e.kind === 'dead-letter' ? e.code : e.kind))).toEqual(['LATE_EVENT']);
  });

  it('evicts the oldest pending entries past capacity', () => {
    const { task, pipe } = driver({ maxPendingPerPartition: 100 });
    const jobs = Array.from({ length: 101 }, (_, i) => g.job(t0 + i * 1000));
    const out = jobs.flatMap((j) => pipe('job-dispatch', j.dispatch));
    // 101 > 100: the overflow plus 1% headroom (2 entries), the two oldest, leave.
    expect(out.map((e) => (e.kind === 'dead-letter' ? [e.code, e.key] : e.kind))).toEqual([
      ['PENDING_CAPACITY', jobs[0]!.dispatch.job_id],
      ['PENDING_CAPACITY', jobs[1]!.dispatch.job_id],
    ]);
    expect(task.stores.get('feedback-pending')?.store.size).toBe(99);
  });
});

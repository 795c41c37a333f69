import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { metricImprovement, relevanceLabel } from '../../../../processors/feedback/relevance.ts';
import { EventGenerator } from '../../../../simulate/generator.ts';
import type { JobDispatch, JobOutcome } from '../../../../schemas/generated/records.ts';

const rules = DEFAULTS.feedback;
const base = new EventGenerator({ seed: 3, runId: 'rel' }).job(Date.UTC(2026, 0, 1));
const dispatch: JobDispatch = { ...base.dispatch, estimated_cost_usd: 100, estimated_duration_s: 1000, baseline_metric: 0.8, metric_goal: 'MAXIMIZE', checkpointing: true };
const outcome = (o: Partial<JobOutcome>): JobOutcome => ({ ...base.outcome, status: 'SUCCEEDED', cost_usd: 100, duration_s: 1000, metric: 0.8, preemption_count: 0, ...o });

describe('relevanceLabel', () => {
  it.each([
    ['failed', { status: 'FAILED' as const }, 0],
    ['preempted for good', { status: 'PREEMPTED' as const }, 0],
    ['optimal: cheaper and faster than estimated', { cost_usd: 90, duration_s: 900 }, 4],
    ['good: on estimate', { cost_usd: 110, duration_s: 1000 }, 3],
    ['adequate: up to 1.5x', { cost_usd: 150, duration_s: 1000 }, 2],
    ['poor: over 1.5x', { cost_usd: 151, duration_s: 1000 }, 1],
    ['the worse ratio decides', { cost_usd: 50, duration_s: 1600 }, 1],
    ['a metric regression costs a step', { metric: 0.79 }, 2],
    ['a metric gain earns a step', { metric: 0.85 }, 4],
    ['never above 4', { cost_usd: 10, duration_s: 10, metric: 0.9 }, 4],
  ])('%s', (_name, o, label) => {
    expect(relevanceLabel(dispatch, outcome(o), rules)?.label).toBe(label);
  });

  it('gives no label to a cancelled job', () => {
    expect(relevanceLabel(dispatch, outcome({ status: 'CANCELLED' }), rules)).toBeNull();
  });

  it('penalises preemptions only without checkpointing, never below 1', () => {
    expect(relevanceLabel(dispatch, outcome({ preemption_count: 2 }), rules)?.label).toBe(3);
    expect(relevanceLabel({ ...dispatch, checkpointing: false }, outcome({ preemption_count: 2 }), rules)?.label).toBe(2);
    expect(relevanceLabel({ ...dispatch, checkpointing: false }, outcome({ preemption_count: 1, cost_usd: 500 }), rules)?.label).toBe(1);
  });

  it('treats an unknown estimate as on target', () => {
    expect(relevanceLabel({ ...dispatch, estimated_cost_usd: 0, estimated_duration_s: 0 }, outcome({}), rules)).toMatchObject({ label: 3, costRatio: null, durationRatio: null });
  });

  it('uses configured thresholds', () => {
    expect(relevanceLabel(dispatch, outcome({ cost_usd: 120 }), { ...rules, goodCostRatio: 1.25 })?.label).toBe(3);
  });

  it('signs the metric improvement by goal', () => {
    expect(metricImprovement({ baseline_metric: 2, metric_goal: 'MINIMIZE' }, 1.8)).toBeCloseTo(0.1);
    expect(metricImprovement({ baseline_metric: 2, metric_goal: 'MAXIMIZE' }, 1.8)).toBeCloseTo(-0.1);
    expect(metricImprovement({ baseline_metric: null, metric_goal: 'MAXIMIZE' }, 1.8)).toBeNull();
  });
});
